// Vite build and dev server for the DashFleet console. `npm run build` writes dashboard/dist, which the
// server serves at `/`; `npm run dev` serves the console with /trpc proxied to the API on :3000.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { defineConfig } from "vite";

const here = path.dirname(fileURLToPath(import.meta.url));
const api = process.env.DASHFLEET_API ?? "http://127.0.0.1:3000";

export default defineConfig({
  root: here,
  plugins: [svelte()],
  build: {
    outDir: path.join(here, "dist"),
    emptyOutDir: true,
    // The server's CSP forbids inline script: keep every script an external file.
    assetsInlineLimit: 0,
  },
  server: {
    port: 5173,
    // The console imports the shared contract from server/contract.
    fs: { allow: [path.join(here, "..")] },
    // changeOrigin stays false: the server refuses a session cookie whose Origin differs from Host.
    proxy: { "/trpc": { target: api, changeOrigin: false } },
  },
});
