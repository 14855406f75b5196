// The console words what the server sends as data, in its own language, instead of the server's
// English sentences (policy-words.ts timelineDetail and resultWords): the queueing from createdBy, the
// agent's latest progress from the action's progress, a lease that ran out, an expiry, a result never
// confirmed by the agent
// (error without an ack) and an action without a result in time (unknown). What the server sends only
// as a sentence is shown as it is, its times local.
import { describe, expect, test } from "vitest";
import { consoleTranslator } from "../../dashboard/src/lib/i18n/index.ts";
import { resultWords, timelineDetail } from "../../dashboard/src/lib/policy-words.ts";

const fr = consoleTranslator("fr");
const en = consoleTranslator("en");
const now = new Date("2026-11-26T10:00:00Z");
const until = "2026-11-26T11:30:00.000Z";
const localClock = (iso: string) => new Date(iso).toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit" });

const events = [
  { status: "pending", kind: null, detail: "queued by key:admin" },
  { status: "delivered", kind: null, detail: null },
  { status: "executing", kind: "shown", detail: "prompt shown to the user; 3 snoozes left" },
  { status: "executing", kind: "snoozed", detail: `snoozed 1 of 3, next prompt ${until}` },
  {
    status: "executing",
    kind: "held-result",
    detail: "the agent reported done (ok); waiting for the machine to come back",
  },
];
const action = {
  createdBy: "key:admin",
  status: "executing" as const,
  result: null,
  ackedAt: "2026-11-26T09:00:00.000Z",
  deliveryCount: 1,
  executeDeadline: "2026-11-26T13:00:00.000Z",
  progress: {
    kind: "snoozed",
    at: "2026-11-26T10:00:00.000Z",
    until,
    n: 1,
    max: 3,
    seq: 1,
    receivedAt: "x",
    deadlineAt: null,
  },
};

describe("timeline details", () => {
  test("the queueing and the latest progress in the console's language; older ones as the server wrote them", () => {
    expect(timelineDetail(events, 0, action, fr, now)).toBe("mise en file par clé admin");
    expect(timelineDetail(events, 0, action, en, now)).toBe("queued by key admin");
    expect(timelineDetail(events, 1, action, fr, now)).toBe("");
    expect(timelineDetail(events, 3, action, fr, now)).toBe(
      `Reportée par l'utilisateur jusqu'à ${localClock(until)} (1 sur 3)`,
    );
    // No data for an older progress event, nor for the server's own steps: its sentence, as it is.
    expect(timelineDetail(events, 2, action, fr, now)).toBe("prompt shown to the user; 3 snoozes left");
    expect(timelineDetail(events, 4, action, fr, now)).toMatch(/^the agent reported done/);
  });

  test("a latest progress of another kind than the event's (not stored yet) keeps the sentence", () => {
    const shownOnly = { ...action, progress: { kind: "shown", at: "2026-11-26T10:00:00.000Z", seq: 0 } };
    expect(timelineDetail(events, 3, shownOnly, fr, now)).toBe(`snoozed 1 of 3, next prompt ${localClock(until)}`);
  });
});

describe("status moves worded from the contract's transitions", () => {
  const moves = [
    { status: "pending", kind: null, detail: "queued by user:ana@example.com (bulk b1)" },
    { status: "delivered", kind: null, detail: null },
    { status: "pending", kind: null, detail: "lease expired; offered again" },
    { status: "delivered", kind: null, detail: null },
  ];
  test("queued by a user (the bulk job's sentence too), then offered again after its lease", () => {
    const a = { ...action, createdBy: "user:ana@example.com", progress: null };
    expect(timelineDetail(moves, 0, a, fr, now)).toBe("mise en file par ana@example.com");
    expect(timelineDetail(moves, 2, a, fr, now)).toBe(
      "l'agent ne l'a pas confirmée à temps\u202f; proposée de nouveau",
    );
  });

  test("expired, never confirmed and without a result in time: the final event in words", () => {
    const expired = [...moves.slice(0, 1), { status: "expired", kind: null, detail: "expired before delivery" }];
    expect(timelineDetail(expired, 1, { ...action, status: "expired" }, fr, now)).toBe(
      "Pas récupérée avant son échéance.",
    );
    const never = [...moves, { status: "error", kind: null, detail: "never acknowledged" }];
    const neverAction = {
      ...action,
      status: "error" as const,
      result: "never acknowledged (delivered 3 times)",
      ackedAt: null,
      deliveryCount: 3,
    };
    expect(timelineDetail(never, 4, neverAction, fr, now)).toBe("l'agent ne l'a jamais confirmée (remise 3 fois)");
    const late = [...events.slice(0, 4), { status: "unknown", kind: null, detail: "no result in time" }];
    const lateAction = { ...action, status: "unknown" as const, result: "no result within 14400 s" };
    expect(timelineDetail(late, 4, lateAction, en, now)).toBe("no result within 4 h");
    // A cancel has no data (who cancelled is not sent): the server's sentence.
    const cancelled = [...moves.slice(0, 1), { status: "cancelled", kind: null, detail: "cancelled by key:admin" }];
    expect(timelineDetail(cancelled, 1, { ...action, status: "cancelled" }, fr, now)).toBe("cancelled by key:admin");
  });
});

describe("results", () => {
  const base = { result: "x", ackedAt: null, deliveryCount: 0, executeDeadline: null };
  test("never confirmed by the agent, and no result in time, from the action's data", () => {
    const neverAcked = {
      ...base,
      status: "error" as const,
      result: "never acknowledged (delivered 3 times)",
      deliveryCount: 3,
    };
    expect(resultWords(neverAcked, fr, now)).toBe("l'agent ne l'a jamais confirmée (remise 3 fois)");
    expect(resultWords(neverAcked, en, now)).toBe("the agent never confirmed it (delivered 3 times)");
    const late = {
      ...base,
      status: "unknown" as const,
      result: "no result within 5400 s",
      ackedAt: "2026-11-26T08:00:00.000Z",
      executeDeadline: "2026-11-26T09:30:00.000Z",
    };
    expect(resultWords(late, fr, now)).toBe("aucun résultat en 1 h 30 min");
  });

  test("the agent's own result (after an ack) is shown as it is, its times local", () => {
    const agentError = {
      ...base,
      status: "error" as const,
      result: "disk full",
      ackedAt: "2026-11-26T08:00:00.000Z",
      deliveryCount: 1,
    };
    expect(resultWords(agentError, fr, now)).toBe("disk full");
    expect(resultWords({ ...base, status: "done" as const, result: `rebooted at ${until}` }, fr, now)).toBe(
      `rebooted at ${localClock(until)}`,
    );
    expect(resultWords({ ...base, status: "done" as const, result: null }, fr, now)).toBe("");
  });
});
