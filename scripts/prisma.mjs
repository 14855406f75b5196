#!/usr/bin/env node
// Runs the Prisma CLI offline: the JS engine is configured in prisma.config.ts, but the CLI still
// looks for the Rust engine binaries, so point those variables at a file that exists (then unused).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";

const require = createRequire(import.meta.url);
const cli = require.resolve("prisma/build/index.js");
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? process.execPath,
  PRISMA_QUERY_ENGINE_LIBRARY: process.env.PRISMA_QUERY_ENGINE_LIBRARY ?? process.execPath,
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
  DATABASE_URL: process.env.DATABASE_URL ?? `file:${path.resolve(process.env.DASHFLEET_DB ?? "data/fleet.db")}`,
};
// The SQLite adapter cannot create the folder of a new database file.
fs.mkdirSync(path.dirname(env.DATABASE_URL.replace(/^file:/, "")), { recursive: true });
const run = spawnSync(process.execPath, [cli, ...process.argv.slice(2)], { stdio: "inherit", env });
process.exit(run.status ?? 1);
