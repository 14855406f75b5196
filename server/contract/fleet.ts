// Fleet and account shapes shared with the dashboard.
import { z } from "zod";

export const roles = ["owner", "admin", "viewer"] as const;
/** owner: everything; admin: queue actions and manage machines; viewer: read only. */
export const Role = z.enum(roles);
export type Role = z.infer<typeof Role>;

export const keyScopes = ["admin", "agent"] as const;
export const KeyScope = z.enum(keyScopes);
export type KeyScope = z.infer<typeof KeyScope>;

/** Health bands for the score 0–100. */
export function healthBand(score: number): "good" | "warn" | "bad" {
  if (score >= 70) return "good";
  if (score >= 40) return "warn";
  return "bad";
}

export const Email = z.string().trim().toLowerCase().email().max(254);
export const Password = z.string().min(8, "password needs at least 8 characters").max(200);
