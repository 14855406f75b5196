// Metric collection with systeminformation: CPU %, memory %, disk % (the system volume), uptime,
// and the identity the agent reports (host name, OS, agent version).
import os from "node:os";
import si from "systeminformation";
import type { MetricReport } from "../../../server/contract/index.ts";
import { AGENT_VERSION } from "./version.ts";

const clamp = (n: number) => (Number.isFinite(n) ? Math.min(100, Math.max(0, Math.round(n * 10) / 10)) : 0);

/** One metric report of this machine. */
export async function collectMetrics(): Promise<MetricReport> {
  const [load, mem, disks] = await Promise.all([si.currentLoad(), si.mem(), si.fsSize().catch(() => [])]);
  const systemMount = process.platform === "win32" ? (process.env.SystemDrive ?? "C:").toUpperCase() : "/";
  const disk =
    disks.find((d) => d.mount.toUpperCase() === systemMount || d.fs.toUpperCase() === systemMount) ??
    [...disks].sort((a, b) => b.size - a.size)[0];
  // "active" memory excludes caches and buffers, which the OS gives back on demand.
  const memoryPercent = mem.total > 0 ? ((mem.active || mem.total - mem.available) / mem.total) * 100 : 0;
  return {
    cpuPercent: clamp(load.currentLoad),
    memoryPercent: clamp(memoryPercent),
    diskPercent: clamp(disk?.use ?? 0),
    uptimeSeconds: Math.max(0, Math.floor(os.uptime())),
    extras: { platform: process.platform, arch: process.arch },
  };
}

/** Host name, OS description and agent version, as enrollment and reports carry them. */
export async function collectIdentity(): Promise<{ hostname: string; os: string; agentVersion: string }> {
  const info = await si.osInfo().catch(() => null);
  const osText = info ? `${info.distro || info.platform} ${info.release}`.trim() : `${os.type()} ${os.release()}`;
  return {
    hostname: (os.hostname() || "unknown").slice(0, 255),
    os: (osText || process.platform).slice(0, 255),
    agentVersion: AGENT_VERSION,
  };
}

/** The OS's own machine id (machine-id, MachineGuid, IOPlatformUUID), or null. */
export async function osMachineUuid(): Promise<string | null> {
  try {
    const u = await si.uuid();
    return u.os || u.hardware || null;
  } catch {
    return null;
  }
}
