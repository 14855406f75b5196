// Agent configuration from, highest first: command-line flags, environment, the user's config file
// (<data dir>/config.json, written on first run), the machine-wide file written by an installer, and
// defaults. The original design's flags keep working: --server --token --machine-id --interval.
// Also: agent-owned state (machine id, machine token) in <data dir>/state.json, written atomically.
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { z } from "zod";
import { Branding, Labels, MachineId } from "../../../server/contract/index.ts";
import { writeFileAtomic } from "./fsatomic.ts";

/** Machine tokens start with this; anything else given as --token is an enrollment (agent) key. */
export const MACHINE_TOKEN_PREFIX = "dfm_";

/** The agent's complete configuration. */
export type AgentConfig = {
  /** Server base URL, e.g. https://fleet.example.com (no /trpc). Null until set (first run). */
  server: string | null;
  /** --token: an enrollment key (dfk_…) or a machine token (dfm_…). */
  token: string | null;
  /** Explicit machine id; null = the stable id derived from this machine. */
  machineId: string | null;
  /** Metric report interval (default 10 s). */
  intervalSeconds: number;
  /** Action poll interval (default 30 s). */
  pollIntervalSeconds: number;
  /** Where config.json, state.json, the journal and the log live. */
  dataDir: string;
  /** Headless only: a reboot action may reboot this machine. */
  allowReboot: boolean;
  /** After the user postpones a reboot, ask again after this long (default 600 s). */
  postponeSeconds: number;
  /** Cap of the reconnect backoff (default 60 s). */
  backoffMaxSeconds: number;
  logLevel: "debug" | "info" | "warn" | "error";
  /** Listen on the server's push channel for immediate wake-ups (default on; --no-push turns it off). */
  push: boolean;
  /** Labels sent at enrollment (--labels a,b). */
  labels: string[];
  /**
   * Branding from the config file (e.g. an installer's): only a fallback until the server's branding
   * (agent.branding, cached in the data folder) is known; the owner's console setting wins (branding.ts).
   */
  branding: Branding | null;
  /** Language of the end-user windows (--locale; default: the OS's). */
  locale: string | null;
  /** Which file layers were read (for the log). */
  sources: string[];
};

/** The config file format (every field optional). */
export const ConfigFile = z
  .object({
    server: z.string().optional(),
    token: z.string().optional(),
    machineId: z.string().optional(),
    intervalSeconds: z.number().optional(),
    pollIntervalSeconds: z.number().optional(),
    allowReboot: z.boolean().optional(),
    postponeSeconds: z.number().optional(),
    backoffMaxSeconds: z.number().optional(),
    logLevel: z.enum(["debug", "info", "warn", "error"]).optional(),
    push: z.boolean().optional(),
    labels: z.array(z.string()).optional(),
    branding: Branding.optional(),
    locale: z.string().max(35).optional(),
  })
  .strict();
export type ConfigFile = z.infer<typeof ConfigFile>;

const ServerUrl = z
  .string()
  .trim()
  .url("must be a URL like https://fleet.example.com")
  .refine((u) => /^https?:\/\//i.test(u), "must start with http:// or https://")
  .transform((u) => u.replace(/\/+$/, "").replace(/\/trpc$/, ""));
const seconds = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

const Resolved = z.object({
  server: ServerUrl.nullable(),
  token: z.string().trim().min(8, "looks too short").max(200).nullable(),
  machineId: MachineId.nullable(),
  intervalSeconds: seconds(1, 3600),
  pollIntervalSeconds: seconds(1, 3600),
  allowReboot: z.boolean(),
  postponeSeconds: seconds(0, 24 * 3600),
  backoffMaxSeconds: seconds(1, 3600),
  logLevel: z.enum(["debug", "info", "warn", "error"]),
  push: z.boolean(),
  labels: Labels,
  branding: Branding.nullable(),
  locale: z
    .string()
    .regex(/^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$/, "a language tag like fr or en-GB")
    .nullable(),
});

/** A configuration error the user can act on (names the setting). */
export class ConfigError extends Error {}

type Platform = NodeJS.Platform;

/** The per-user data directory of the agent on each platform. */
export function defaultDataDir(
  platform: Platform = process.platform,
  env: Record<string, string | undefined> = process.env,
  home = os.homedir(),
): string {
  if (platform === "win32")
    return path.win32.join(env.APPDATA ?? path.win32.join(home, "AppData", "Roaming"), "DashFleet Agent");
  if (platform === "darwin") return path.posix.join(home, "Library", "Application Support", "DashFleet Agent");
  return path.posix.join(env.XDG_CONFIG_HOME || path.posix.join(home, ".config"), "dashfleet-agent");
}

/** The machine-wide config file an installer writes (read below the user's own file). */
export function systemConfigFile(
  platform: Platform = process.platform,
  env: Record<string, string | undefined> = process.env,
): string {
  if (platform === "win32")
    return path.win32.join(env.ProgramData ?? env.PROGRAMDATA ?? "C:\\ProgramData", "DashFleet", "agent.json");
  if (platform === "darwin") return "/Library/Application Support/DashFleet/agent.json";
  return "/etc/dashfleet/agent.json";
}

const flagOptions = {
  server: { type: "string" },
  token: { type: "string" },
  "machine-id": { type: "string" },
  interval: { type: "string" },
  "poll-interval": { type: "string" },
  "data-dir": { type: "string" },
  config: { type: "string" },
  "allow-reboot": { type: "boolean" },
  "postpone-seconds": { type: "string" },
  "backoff-max": { type: "string" },
  "log-level": { type: "string" },
  "no-push": { type: "boolean" },
  labels: { type: "string" },
  locale: { type: "string" },
  help: { type: "boolean" },
} as const;

/** Usage text for --help. */
export const USAGE = `Usage: dashfleet-agent [options]
  --server URL           DashFleet server (e.g. https://fleet.example.com)      env DASHFLEET_SERVER
  --token KEY            enrollment key (dfk_…) or machine token (dfm_…)          env DASHFLEET_TOKEN
  --machine-id ID        machine id (default: stable id derived from this machine) env DASHFLEET_MACHINE_ID
  --interval N           metric report interval in seconds (default 10)         env DASHFLEET_INTERVAL
  --poll-interval N      action poll interval in seconds (default 30)           env DASHFLEET_POLL_INTERVAL
  --data-dir DIR         config, state, journal and log directory               env DASHFLEET_DATA_DIR
  --config FILE          config file (default <data dir>/config.json)           env DASHFLEET_AGENT_CONFIG
  --allow-reboot         headless: let reboot actions reboot this machine       env DASHFLEET_ALLOW_REBOOT=1
  --postpone-seconds N   delay after the user postpones a reboot (default 600)
  --backoff-max N        longest wait between reconnect attempts (default 60)
  --log-level LEVEL      debug | info | warn | error (default info)
  --no-push              poll only (no push channel)
  --labels a,b           labels sent when the machine enrolls                   env DASHFLEET_LABELS
  --locale TAG           language of the windows: en or fr (default: the OS's)`;

function readJsonFile(file: string): ConfigFile | null {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch {
    return null;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text.replace(/^\uFEFF/, ""));
  } catch (err) {
    throw new ConfigError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = ConfigFile.safeParse(raw);
  if (!parsed.success)
    throw new ConfigError(
      `${file}: ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`,
    );
  return parsed.data;
}

const envBool = (v: string | undefined) =>
  v === undefined ? undefined : ["1", "true", "yes"].includes(v.toLowerCase());

/**
 * Resolves the configuration. `strict` rejects unknown flags (headless); the Electron shell passes
 * false because Chromium adds switches of its own.
 */
export function loadAgentConfig(
  opts: {
    argv?: string[];
    env?: Record<string, string | undefined>;
    platform?: Platform;
    home?: string;
    strict?: boolean;
    systemFile?: string | null;
  } = {},
): AgentConfig & { help: boolean } {
  const env = opts.env ?? process.env;
  const platform = opts.platform ?? process.platform;
  let flags: { [K in keyof typeof flagOptions]?: (typeof flagOptions)[K]["type"] extends "boolean" ? boolean : string };
  try {
    flags = parseArgs({
      args: opts.argv ?? process.argv.slice(2),
      options: flagOptions,
      strict: opts.strict ?? true,
      allowPositionals: !(opts.strict ?? true),
    }).values as typeof flags;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message}\n${USAGE}`);
  }
  const dataDir = path.resolve(
    flags["data-dir"] ?? env.DASHFLEET_DATA_DIR ?? defaultDataDir(platform, env, opts.home ?? os.homedir()),
  );
  const userFile = flags.config ?? env.DASHFLEET_AGENT_CONFIG ?? path.join(dataDir, "config.json");
  const sysFile = opts.systemFile === undefined ? systemConfigFile(platform, env) : opts.systemFile;
  const sources: string[] = [];
  const sys = sysFile ? readJsonFile(sysFile) : null;
  if (sys) sources.push(sysFile!);
  const user = readJsonFile(userFile);
  if (user) sources.push(userFile);
  const file: ConfigFile = { ...(sys ?? {}), ...(user ?? {}) };

  const pick = <T>(...vals: (T | undefined)[]): T | undefined => vals.find((v) => v !== undefined && v !== "");
  const candidate = {
    server: pick(flags.server, env.DASHFLEET_SERVER, file.server) ?? null,
    token: pick(flags.token, env.DASHFLEET_TOKEN, file.token) ?? null,
    machineId: pick(flags["machine-id"], env.DASHFLEET_MACHINE_ID, file.machineId) ?? null,
    intervalSeconds: pick<string | number>(flags.interval, env.DASHFLEET_INTERVAL, file.intervalSeconds) ?? 10,
    pollIntervalSeconds:
      pick<string | number>(flags["poll-interval"], env.DASHFLEET_POLL_INTERVAL, file.pollIntervalSeconds) ?? 30,
    allowReboot: pick(flags["allow-reboot"], envBool(env.DASHFLEET_ALLOW_REBOOT), file.allowReboot) ?? false,
    postponeSeconds: pick<string | number>(flags["postpone-seconds"], file.postponeSeconds) ?? 600,
    backoffMaxSeconds: pick<string | number>(flags["backoff-max"], file.backoffMaxSeconds) ?? 60,
    logLevel: pick(flags["log-level"], env.DASHFLEET_LOG_LEVEL, file.logLevel) ?? "info",
    push: flags["no-push"] ? false : (file.push ?? true),
    labels: splitLabels(pick(flags.labels, env.DASHFLEET_LABELS)) ?? file.labels ?? [],
    branding: file.branding ?? null,
    locale: pick(flags.locale, file.locale) ?? null,
  };
  const parsed = Resolved.safeParse(candidate);
  if (!parsed.success) {
    const names: Record<string, string> = {
      intervalSeconds: "--interval",
      pollIntervalSeconds: "--poll-interval",
      machineId: "--machine-id",
      server: "--server",
      token: "--token",
      labels: "--labels",
      locale: "--locale",
    };
    throw new ConfigError(
      parsed.error.issues.map((i) => `${names[String(i.path[0])] ?? String(i.path[0])}: ${i.message}`).join("\n"),
    );
  }
  return { ...parsed.data, dataDir, sources, help: flags.help ?? false };
}

/** "a, b" → ["a", "b"] (empty items dropped). */
function splitLabels(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  return v
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
}

/** Writes the user's config file (first run: server and enrollment key from the setup window). */
export function writeUserConfig(dataDir: string, values: ConfigFile): void {
  const file = path.join(dataDir, "config.json");
  const existing = readJsonFile(file) ?? {};
  writeFileAtomic(file, `${JSON.stringify({ ...existing, ...ConfigFile.parse(values) }, null, 2)}\n`, 0o600);
}

/** What the agent keeps between runs: its machine id and the token the server gave it. */
export const AgentState = z.object({
  machineId: z.string().optional(),
  server: z.string().optional(),
  machineToken: z.string().optional(),
  enrolledAt: z.string().optional(),
});
export type AgentState = z.infer<typeof AgentState>;

/** Reads <data dir>/state.json (an unreadable file counts as empty: the agent enrolls again). */
export function readState(dataDir: string): AgentState {
  try {
    return AgentState.parse(JSON.parse(fs.readFileSync(path.join(dataDir, "state.json"), "utf8")));
  } catch {
    return {};
  }
}

/** Writes <data dir>/state.json atomically, readable by this user only (it holds a token). */
export function writeState(dataDir: string, state: AgentState): void {
  writeFileAtomic(path.join(dataDir, "state.json"), `${JSON.stringify(state, null, 2)}\n`, 0o600);
}

/**
 * A stable machine id: the host name (for people) and a hash of the OS's machine id (for uniqueness:
 * cloned images with the same host name stay apart). The OS id (/etc/machine-id, MachineGuid,
 * IOPlatformUUID) is hashed with an app-specific salt and never sent as is.
 */
export function deriveMachineId(hostname: string, osMachineUuid: string | null): string {
  const host =
    hostname
      .toLowerCase()
      .replace(/[^a-z0-9_.-]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 80) || "machine";
  const seed = osMachineUuid && osMachineUuid.trim() ? osMachineUuid.trim().toLowerCase() : randomUUID();
  const digest = createHash("sha256").update(`dashfleet-agent:${seed}`).digest("hex").slice(0, 12);
  return `${host}-${digest}`;
}
