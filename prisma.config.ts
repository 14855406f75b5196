// Prisma CLI configuration: the JS schema engine over better-sqlite3, so no Rust engine is needed.
import path from "node:path";
import { defineConfig } from "prisma/config";
import { PrismaBetterSQLite3 } from "@prisma/adapter-better-sqlite3";

const dbFile = process.env.DASHFLEET_DB ?? "data/fleet.db";
process.env.DATABASE_URL ??= `file:${path.resolve(dbFile)}`;

export default defineConfig({
  experimental: { adapter: true },
  engine: "js",
  schema: path.join("prisma", "schema.prisma"),
  migrations: { path: path.join("prisma", "migrations") },
  async adapter() {
    return new PrismaBetterSQLite3({ url: process.env.DATABASE_URL! });
  },
});
