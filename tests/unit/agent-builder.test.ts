// Packaging: electron-builder.yml is valid against electron-builder's own schema, builds the four
// targets, and packs only the bundled agent; the bundle needs no node_modules, contains no server
// code, and its preload is tiny and requires nothing but electron.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { Ajv } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = path.resolve(import.meta.dirname, "../..");
const DIST = path.join(ROOT, "tray-agent/dist");
type Target = { target: string; arch?: string[] };
type BuilderConfig = {
  directories: { app: string; output: string; buildResources: string };
  files: string[];
  win: { target: Target[] };
  mac: { target: Target[]; extendInfo: Record<string, unknown> };
  linux: { target: Target[] };
  nsis: { include: string };
};
const config = parse(fs.readFileSync(path.join(ROOT, "electron-builder.yml"), "utf8")) as BuilderConfig;

describe("electron-builder configuration", () => {
  it("is valid against node_modules/app-builder-lib/scheme.json", () => {
    const schema = JSON.parse(
      fs.readFileSync(path.join(ROOT, "node_modules/app-builder-lib/scheme.json"), "utf8"),
    ) as object;
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    const ok = validate(config);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    // The schema does catch mistakes (a misspelt key is refused).
    expect(validate({ ...config, nsiss: {} })).toBe(false);
  });

  it("targets Windows NSIS, macOS dmg, Linux AppImage and deb", () => {
    expect(config.win.target.map((t) => t.target)).toEqual(["nsis"]);
    expect(config.mac.target.map((t) => t.target)).toEqual(["dmg"]);
    expect(config.linux.target.map((t) => t.target).sort()).toEqual(["AppImage", "deb"]);
    expect(config.mac.extendInfo.LSUIElement).toBe(true);
  });

  it("packs only the agent: tray-agent/ with its package.json (no dependencies) and the bundle", () => {
    expect(config.directories.app).toBe("tray-agent");
    expect(config.files).toEqual(["package.json", "dist/**/*", "!dist/**/*.map"]);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "tray-agent/package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    expect(pkg.main).toBe("dist/main.cjs");
    expect(pkg.dependencies).toBeUndefined();
    for (const f of ["tray-agent/installer/installer.nsh", "tray-agent/assets/icon.png"])
      expect(fs.existsSync(path.join(ROOT, f))).toBe(true);
    expect(fs.readFileSync(path.join(ROOT, config.nsis.include), "utf8")).toContain('"/SERVER="');
  });
});

describe("agent bundle (npm run build:agent)", () => {
  beforeAll(() => {
    execFileSync(process.execPath, [path.join(ROOT, "tray-agent/build.mjs")], { cwd: ROOT, stdio: "pipe" });
  });

  it("holds main, preload, the window page and tray icons", () => {
    expect(fs.readdirSync(DIST).sort()).toEqual([
      "main.cjs",
      "preload.cjs",
      "tray-connected.png",
      "tray-offline.png",
      "tray-waiting.png",
      "window.css",
      "window.html",
      "window.js",
    ]);
  });

  it("contains no server code or server dependency", () => {
    const main = fs.readFileSync(path.join(DIST, "main.cjs"), "utf8");
    for (const banned of ["@prisma/client", "better-sqlite3", "server/services/", "server/routers/", "pino("])
      expect(main).not.toContain(banned);
    // The shared contract is inlined (the agent validates actions with it).
    expect(main).toContain("server/contract/actions.ts");
  });

  it("requires only Node built-ins and electron at run time (no node_modules in the app)", () => {
    const main = fs.readFileSync(path.join(DIST, "main.cjs"), "utf8");
    const required = new Set([...main.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]!));
    const builtins = new Set(builtinModules);
    // systeminformation probes optional macOS sensor packages inside try/catch.
    const optional = new Set(["osx-temperature-sensor", "macos-temperature-sensor"]);
    const outside = [...required].filter(
      (r) => r !== "electron" && !builtins.has(r.replace(/^node:/, "")) && !optional.has(r),
    );
    expect(outside).toEqual([]);
  });

  it("the preload is tiny and requires only electron", () => {
    const preload = fs.readFileSync(path.join(DIST, "preload.cjs"), "utf8");
    expect(preload.length).toBeLessThan(4000);
    expect([...preload.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1])).toEqual(["electron"]);
    expect(preload).toContain('exposeInMainWorld("dashfleet"');
  });

  it("main.cjs loads and, as a second instance, quits (single-instance lock)", () => {
    const probe = `
      const Module = require("node:module");
      const orig = Module._load;
      const calls = [];
      Module._load = function (req, ...rest) {
        if (req === "electron") return { app: { requestSingleInstanceLock: () => (calls.push("lock"), false), quit: () => calls.push("quit"), on: () => calls.push("on") } };
        return orig.call(this, req, ...rest);
      };
      require(${JSON.stringify(path.join(DIST, "main.cjs"))});
      process.stdout.write(JSON.stringify(calls));`;
    const out = execFileSync(process.execPath, ["-e", probe], { encoding: "utf8" });
    expect(JSON.parse(out)).toEqual(["lock", "quit"]);
  });
});
