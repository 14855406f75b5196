// Metric and enrollment contract shared by server and agent.
import { z } from "zod";

const percent = z.number().finite().min(0).max(100);
const shortText = (max: number) => z.string().trim().min(1).max(max);

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
    uptimeSeconds: z.number().int().min(0).max(100 * 365 * 24 * 3600),
    extras: MetricExtras.optional(),
  })
  .strict();
export type MetricReport = z.infer<typeof MetricReport>;

/** A machine id as agents send it: printable, no spaces, 1–128 characters. */
export const MachineId = z.string().trim().min(1).max(128).regex(/^[A-Za-z0-9_.:@-]+$/, "machine id uses letters, digits and _ . : @ -");

/** What an agent says about itself when it enrolls (and on every report, if it changed). */
export const MachineIdentity = z
  .object({
    machineId: MachineId,
    hostname: shortText(255),
    os: shortText(255),
    agentVersion: shortText(64),
  })
  .strict();
export type MachineIdentity = z.infer<typeof MachineIdentity>;

/** agent.report answer: when to report next. */
export const ReportAnswer = z.object({ nextReportInSeconds: z.number().int().positive() });
export type ReportAnswer = z.infer<typeof ReportAnswer>;
