// The agent's branding checks and cache (tray-agent/src/core/branding.ts): a logo reaches a window only
// as an image re-encoded from bytes typed by their magic numbers (an SVG, a GIF or HTML labelled PNG,
// or one over 64 KB, is dropped); the name and support text lose control and bidi-override characters
// and keep markup as plain characters; the cache is owner-only, per server, and read as untrusted; the
// keeper asks with its etag, keeps its logo on an unchanged answer, logs a change once, falls back to
// the config file only until the server's branding is known, and never throws.
import fs from "node:fs";
import path from "node:path";
import { TRPCClientError } from "@trpc/client";
import { describe, expect, it } from "vitest";
import type { Branding, BrandingAnswer } from "../../server/contract/index.ts";
import {
  BRANDING_REFRESH_MS,
  BrandingKeeper,
  checkedLogo,
  readBrandingCache,
  safeBranding,
  writeBrandingCache,
} from "../../tray-agent/src/core/branding.ts";
import type { Logger } from "../../tray-agent/src/core/log.ts";
import { tempDataDir } from "../helpers/agent.ts";

const PNG = fs.readFileSync(path.resolve(import.meta.dirname, "../../tray-agent/assets/tray-connected.png"));
const b64 = (b: Buffer | string) => Buffer.from(b).toString("base64");
const pngUrl = `data:image/png;base64,${b64(PNG)}`;
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(16)]);
const WEBP = Buffer.concat([Buffer.from("RIFF"), Buffer.from([8, 0, 0, 0]), Buffer.from("WEBPVP8L"), Buffer.alloc(8)]);
const SERVER = "https://fleet.example.com";

function recordingLog() {
  const lines: string[] = [];
  const log: Logger = {
    debug: () => {},
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  };
  return { log, lines };
}

describe("checkedLogo", () => {
  it("re-encodes PNG, JPEG and WebP typed by their bytes (the declared type is not trusted)", () => {
    expect(checkedLogo(pngUrl)).toBe(pngUrl);
    expect(checkedLogo(`data:image/jpeg;base64,${b64(JPEG)}`)).toBe(`data:image/jpeg;base64,${b64(JPEG)}`);
    expect(checkedLogo(`data:image/webp;base64,${b64(WEBP)}`)).toBe(`data:image/webp;base64,${b64(WEBP)}`);
    // PNG bytes declared as JPEG: shown as what they are.
    expect(checkedLogo(`data:image/jpeg;base64,${b64(PNG)}`)).toBe(pngUrl);
  });

  it("drops an SVG, a GIF or HTML under an image label, non-base64, an empty or an oversized logo", () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>';
    expect(checkedLogo(`data:image/png;base64,${b64(svg)}`)).toBeNull();
    expect(checkedLogo(`data:image/svg+xml;base64,${b64(svg)}`)).toBeNull();
    expect(checkedLogo(`data:image/png;base64,${b64("GIF89a\x01\x00\x01\x00")}`)).toBeNull();
    expect(checkedLogo(`data:text/html;base64,${b64("<script>alert(1)</script>")}`)).toBeNull();
    expect(checkedLogo(`data:image/png,${encodeURIComponent("<b>x</b>")}`)).toBeNull();
    expect(checkedLogo("data:image/png;base64,")).toBeNull();
    expect(checkedLogo("javascript:alert(1)")).toBeNull();
    const big = Buffer.concat([PNG.subarray(0, 8), Buffer.alloc(64 * 1024)]);
    expect(checkedLogo(`data:image/png;base64,${b64(big)}`)).toBeNull();
  });
});

describe("safeBranding", () => {
  it("keeps markup as plain characters, strips control and bidi-override characters, cuts to the contract's lengths", () => {
    const b = safeBranding({
      orgName: `<img src=x onerror=alert(1)> Acme\u202Egnp.exe\u2066 IT\u0007`,
      supportText: `Call <b>4242</b>\u202B or\u0000 write to it@acme.example ${"x".repeat(400)}`,
    });
    expect(b?.orgName).toBe("<img src=x onerror=alert(1)> Acmegnp.exe IT");
    expect(b?.supportText).toMatch(/^Call <b>4242<\/b> or write to it@acme\.example x+$/);
    expect(b?.supportText).toHaveLength(300);
    expect(safeBranding({ orgName: "x".repeat(200) })?.orgName).toHaveLength(80);
  });

  it("drops an unfit logo (logged) and keeps the rest; no usable name is no branding", () => {
    const { log, lines } = recordingLog();
    expect(safeBranding({ orgName: "Acme", logoDataUrl: `data:image/png;base64,${b64("<svg/>")}` }, log)).toEqual({
      orgName: "Acme",
    });
    expect(lines).toEqual([
      "warn branding: the logo is not a PNG, JPEG or WebP image of at most 64 KB; it is not shown",
    ]);
    expect(safeBranding({ orgName: " \u202E\u0007 " })).toBeNull();
    expect(safeBranding({ supportText: "no name" })).toBeNull();
    expect(safeBranding(null)).toBeNull();
  });
});

describe("branding cache", () => {
  it("is owner-only (0600), per server, and checked again when read", () => {
    const dir = tempDataDir();
    writeBrandingCache(dir, SERVER, "e1", { orgName: "Acme", logoDataUrl: pngUrl }, new Date());
    const file = path.join(dir, "branding.json");
    if (process.platform !== "win32") expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(readBrandingCache(dir, SERVER)).toEqual({ etag: "e1", branding: { orgName: "Acme", logoDataUrl: pngUrl } });
    // Moved to another server (another organization): not its branding.
    expect(readBrandingCache(dir, "https://other.example.com")).toBeNull();
    // A tampered file: an SVG slipped in as the logo is dropped; garbage reads as no cache.
    const raw = JSON.parse(fs.readFileSync(file, "utf8")) as { branding: Branding };
    raw.branding.logoDataUrl = `data:image/png;base64,${b64("<svg onload=alert(1)>")}`;
    fs.writeFileSync(file, JSON.stringify(raw));
    expect(readBrandingCache(dir, SERVER)?.branding).toEqual({ orgName: "Acme" });
    fs.writeFileSync(file, "{not json");
    expect(readBrandingCache(dir, SERVER)).toBeNull();
  });
});

/** A server's agent.branding: answers like the real one (no logo when the etag is current). */
function fakeServer(answer: BrandingAnswer | Error) {
  const asked: (string | null)[] = [];
  const api = {
    current: answer,
    asked,
    async branding(etag: string | null): Promise<BrandingAnswer> {
      asked.push(etag);
      if (api.current instanceof Error) throw api.current;
      const { logoDataUrl, ...rest } = api.current;
      return etag === rest.etag ? rest : { ...rest, ...(logoDataUrl ? { logoDataUrl } : {}) };
    },
  };
  return api;
}

function keeper(dataDir: string, fallback: Branding | null = null) {
  const applied: (Branding | null)[] = [];
  const { log, lines } = recordingLog();
  const k = new BrandingKeeper({
    dataDir,
    server: SERVER,
    fallback,
    log,
    now: () => new Date(),
    apply: (b) => void applied.push(b),
  });
  return { k, applied, lines };
}

describe("BrandingKeeper", () => {
  it("asks with its etag, keeps its logo when the answer is unchanged, logs and applies a change once", async () => {
    const dir = tempDataDir();
    const server = fakeServer({ orgName: "Acme IT", supportText: "Call 4242", logoDataUrl: pngUrl, etag: "e1" });
    const { k, applied, lines } = keeper(dir);
    k.load();
    expect(applied).toEqual([]);
    expect(await k.refresh(server)).toBe(BRANDING_REFRESH_MS);
    expect(await k.refresh(server)).toBe(BRANDING_REFRESH_MS);
    expect(server.asked).toEqual([null, "e1"]);
    expect(k.current()).toEqual({ orgName: "Acme IT", supportText: "Call 4242", logoDataUrl: pngUrl });
    expect(applied).toHaveLength(1);
    expect(lines).toEqual([
      `info branding from the server: "Acme IT", support text, logo image/png (${PNG.length} bytes)`,
    ]);
    server.current = { orgName: "Acme IT", etag: "e2" }; // the owner removed the logo and the support text
    await k.refresh(server);
    expect(k.current()).toEqual({ orgName: "Acme IT" });
    expect(readBrandingCache(dir, SERVER)).toEqual({ etag: "e2", branding: { orgName: "Acme IT" } });
    expect(applied).toEqual([
      { orgName: "Acme IT", supportText: "Call 4242", logoDataUrl: pngUrl },
      { orgName: "Acme IT" },
    ]);
  });

  it("the config file's branding is a fallback only until the server's (or its cache) is known", async () => {
    const dir = tempDataDir();
    const fromFile = { orgName: "From the installer" };
    const first = keeper(dir, fromFile);
    first.k.load();
    expect(first.k.current()).toEqual(fromFile);
    expect(first.lines).toEqual([`info branding from the config file: "From the installer", no support text, no logo`]);
    await first.k.refresh(fakeServer({ orgName: "Acme IT", etag: "e1" }));
    expect(first.k.current()).toEqual({ orgName: "Acme IT" });
    // Next start: the cache wins over the file, before any network.
    const second = keeper(dir, fromFile);
    second.k.load();
    expect(second.k.current()).toEqual({ orgName: "Acme IT" });
    expect(second.lines).toEqual([`info branding cached from the server: "Acme IT", no support text, no logo`]);
  });

  it("never throws: unreachable → ask again within a minute; an older server without agent.branding → logged once", async () => {
    const { k, lines } = keeper(tempDataDir(), { orgName: "Fallback" });
    k.load();
    expect(await k.refresh(fakeServer(new TypeError("fetch failed")))).toBe(60_000);
    const missing = new TRPCClientError('No procedure found on path "agent.branding"', {
      result: {
        error: { message: 'No procedure found on path "agent.branding"', code: -1, data: { code: "NOT_FOUND" } },
      } as never,
    });
    const older = fakeServer(missing);
    expect(await k.refresh(older)).toBe(BRANDING_REFRESH_MS);
    expect(await k.refresh(older)).toBe(BRANDING_REFRESH_MS);
    expect(k.current()).toEqual({ orgName: "Fallback" });
    expect(lines.filter((l) => l.includes("agent.branding"))).toHaveLength(1);
  });

  it("an older server's answer without an etag is compared by content: applied and cached once, changes still seen", async () => {
    const dir = tempDataDir();
    let answer: Branding = { orgName: "Old Server Org", logoDataUrl: pngUrl };
    const asked: (string | null)[] = [];
    const older = {
      branding: async (etag: string | null) => {
        asked.push(etag);
        return answer as BrandingAnswer; // no etag: the input is ignored, the logo always sent
      },
    };
    const { k, applied, lines } = keeper(dir);
    await k.refresh(older);
    const written = fs.statSync(path.join(dir, "branding.json")).mtimeMs;
    await k.refresh(older);
    expect(asked).toEqual([null, null]);
    expect(applied).toEqual([{ orgName: "Old Server Org", logoDataUrl: pngUrl }]);
    expect(lines).toHaveLength(1);
    expect(fs.statSync(path.join(dir, "branding.json")).mtimeMs).toBe(written);
    answer = { orgName: "Renamed" };
    await k.refresh(older);
    expect(k.current()).toEqual({ orgName: "Renamed" });
    expect(readBrandingCache(dir, SERVER)?.branding).toEqual({ orgName: "Renamed" });
  });
});
