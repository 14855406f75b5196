// `npm run build:agent`: bundles the tray app's main process and preload with esbuild into
// tray-agent/dist (one file each, CommonJS for Electron), and copies the window page and icons.
// The packaged app then needs no node_modules: zod, @trpc/client, systeminformation and the shared
// contract are inlined; electron itself is provided by the runtime.
import fs from "node:fs";
import path from "node:path";
import { build } from "esbuild";

const root = import.meta.dirname;
const dist = path.join(root, "dist");
fs.rmSync(dist, { recursive: true, force: true });
fs.mkdirSync(dist, { recursive: true });

const common = {
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node20",
  external: ["electron", "osx-temperature-sensor"],
  sourcemap: false,
  minify: false,
  legalComments: "none",
  logLevel: "warning",
};
await build({
  ...common,
  entryPoints: [path.join(root, "src/electron/main.ts")],
  outfile: path.join(dist, "main.cjs"),
});
await build({
  ...common,
  entryPoints: [path.join(root, "src/electron/preload.ts")],
  outfile: path.join(dist, "preload.cjs"),
});

for (const f of ["window.html", "window.css", "window.js"])
  fs.copyFileSync(path.join(root, "src/electron/renderer", f), path.join(dist, f));
for (const f of fs.readdirSync(path.join(root, "assets")))
  if (f.startsWith("tray-")) fs.copyFileSync(path.join(root, "assets", f), path.join(dist, f));
console.log(`agent bundled into ${path.relative(process.cwd(), dist)}`);
