// A small logger for the agent: one line per event to stderr and to a size-capped file in the data
// directory (the tray menu's "Open the log" opens it). No pino here: the packaged app bundles the
// agent into one file, and a logger with worker-thread transports does not bundle cleanly.
import fs from "node:fs";
import path from "node:path";

export type LogLevel = "debug" | "info" | "warn" | "error";
const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

/** What the core logs through. */
export type Logger = {
  debug(msg: string, extra?: Record<string, unknown>): void;
  info(msg: string, extra?: Record<string, unknown>): void;
  warn(msg: string, extra?: Record<string, unknown>): void;
  error(msg: string, extra?: Record<string, unknown>): void;
};

/** Rotate the log file when it grows past this (the previous one is kept as agent.log.1). */
const MAX_LOG_BYTES = 1024 * 1024;

/** A logger writing to stderr (unless quiet) and to `file` (if given). */
export function createLogger(opts: { level?: LogLevel; file?: string | null; stderr?: boolean } = {}): Logger {
  const min = order[opts.level ?? "info"];
  const file = opts.file ?? null;
  if (file) fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const write = (level: LogLevel, msg: string, extra?: Record<string, unknown>) => {
    if (order[level] < min) return;
    const line = `${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${msg}${extra ? ` ${JSON.stringify(extra)}` : ""}\n`;
    if (opts.stderr !== false) process.stderr.write(line);
    if (file) {
      try {
        if (fs.existsSync(file) && fs.statSync(file).size > MAX_LOG_BYTES) fs.renameSync(file, `${file}.1`);
        fs.appendFileSync(file, line, { mode: 0o600 });
      } catch {
        // A log that cannot be written must never stop the agent.
      }
    }
  };
  return {
    debug: (m, e) => write("debug", m, e),
    info: (m, e) => write("info", m, e),
    warn: (m, e) => write("warn", m, e),
    error: (m, e) => write("error", m, e),
  };
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
