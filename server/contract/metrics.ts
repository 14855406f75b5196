// Metric and enrollment contract shared by server and agent.
import { z } from "zod";
import { INT4_MAX } from "./storage.ts";
import { safeText } from "./text.ts";

const percent = z.number().finite().min(0).max(100);
/** Hostnames, OS strings and versions: no control characters, bidi overrides or invisible-only text. */
const shortText = (max: number) => safeText(max);

/** Free-form extra metrics: a few scalar values with short keys (no nested objects). */
export const MetricExtras = z
  .record(z.string().min(1).max(64).regex(/^[A-Za-z0-9_.-]+$/, "extras keys use letters, digits, _ . -"), z.union([z.number().finite(), z.string().max(256), z.boolean()]))
  .refine((o) => Object.keys(o).length <= 32, "at most 32 extras");

/** One metric report from an agent. */
export const MetricReport = z
  .object({
    cpuPercent: percent,
    memoryPercent: percent,
    diskPercent: percent,
    // At most PostgreSQL's integer (MetricReport.uptime, Machine.lastUptime), about 68 years: the former
    // bound (100 years) let 2^31 s and more through, stored on SQLite and a 500 on PostgreSQL.
    uptimeSeconds: z.number().int().min(0).max(INT4_MAX, "at most 2147483647 seconds (68 years)"),
    extras: MetricExtras.optional(),
  })
  .strict();
export type MetricReport = z.infer<typeof MetricReport>;

/** A machine id as agents send it: printable, no spaces, 1–128 characters. */
export const MachineId = z.string().trim().min(1).max(128).regex(/^[A-Za-z0-9_.:@-]+$/, "machine id uses letters, digits and _ . : @ -");

/** A machine label: a short lowercase tag (letters, digits, - _ .), 1–32 characters. */
export const Label = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(32)
  .regex(/^[a-z0-9][a-z0-9._-]*$/, "labels are lowercase letters, digits and - _ . (starting with a letter or digit)");
/** At most this many labels per machine. */
export const MAX_LABELS = 20;
/** A machine's labels: unique, at most MAX_LABELS. */
export const Labels = z
  .array(Label)
  .max(MAX_LABELS, `at most ${MAX_LABELS} labels per machine`)
  .transform((l) => [...new Set(l)].sort());

/** What an agent says about itself when it enrolls (and on every report, if it changed). */
export const MachineIdentity = z
  .object({
    machineId: MachineId,
    hostname: shortText(255),
    os: shortText(255),
    agentVersion: shortText(64),
    /** Labels set at install time (`--labels`); applied when the machine is first enrolled. */
    labels: Labels.optional(),
  })
  .strict();
export type MachineIdentity = z.infer<typeof MachineIdentity>;

/** agent.report answer: when to report next. */
export const ReportAnswer = z.object({ nextReportInSeconds: z.number().int().positive() });
export type ReportAnswer = z.infer<typeof ReportAnswer>;
