// The notification payloads between server processes (batching under PostgreSQL's 8000-byte limit,
// parsing, invalidations), and the dispatch index's claim watch: a wake-up heard while a claim runs
// survives the claim's "nothing left" decision.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../server/clock.ts";
import type { Db } from "../../server/db.ts";
import { NOTIFY_PAYLOAD_MAX_BYTES, parseWorkPayload, workPayloads } from "../../server/db/pgNotify.ts";
import { ActionDispatch } from "../../server/services/dispatch.ts";
import { invalidationPayload, parseInvalidationPayload } from "../../server/services/invalidations.ts";

const refs = (n: number, prefix = "cm") =>
  Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(23, "0")}`);

describe("work payloads", () => {
  it("one small payload for a few machines, read back as sent", () => {
    const payloads = workPayloads("origin-1", ["a", "b", "c"]);
    expect(payloads).toHaveLength(1);
    expect(parseWorkPayload(payloads[0])).toEqual({ origin: "origin-1", refs: ["a", "b", "c"] });
  });

  it("a bulk of 100,000 machines: every payload under the limit, all refs once and in order, few payloads", () => {
    const all = refs(100_000);
    const payloads = workPayloads("o", all);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(NOTIFY_PAYLOAD_MAX_BYTES);
    expect(NOTIFY_PAYLOAD_MAX_BYTES).toBeLessThan(8000);
    const back = payloads.flatMap((p) => parseWorkPayload(p)!.refs);
    expect(back).toEqual(all);
    // Packed: each payload but the last could not take one more ref.
    const perRef = JSON.stringify(all[0]).length + 1;
    for (const p of payloads.slice(0, -1))
      expect(Buffer.byteLength(p) + perRef).toBeGreaterThan(NOTIFY_PAYLOAD_MAX_BYTES);
    expect(payloads.length).toBeLessThan(600);
  });

  it("counts bytes, not characters (multi-byte ids), and cuts exactly at the limit", () => {
    const wide = refs(500, "é€");
    const payloads = workPayloads("o", wide, 1000);
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(1000);
    expect(payloads.flatMap((p) => parseWorkPayload(p)!.refs)).toEqual(wide);
  });

  it("nothing to send: no payload; a ref that cannot fit is an error, not a payload PostgreSQL refuses", () => {
    expect(workPayloads("o", [])).toEqual([]);
    expect(() => workPayloads("o", ["x".repeat(8000)])).toThrow(/too long/);
  });

  it("ignores payloads that are not ours", () => {
    for (const p of [undefined, "", "not json", "{}", '{"o":1,"m":[]}', '{"o":"x","m":[1]}', '{"o":"x","m":"a"}'])
      expect(parseWorkPayload(p)).toBeNull();
  });
});

describe("invalidation payloads", () => {
  it("read back as sent; anything else is ignored", () => {
    for (const e of [
      { kind: "key", target: "k1" },
      { kind: "machine", target: "m1" },
      { kind: "org", target: "o1" },
    ] as const)
      expect(parseInvalidationPayload(invalidationPayload(e))).toEqual(e);
    for (const p of [undefined, "x", '{"k":"user","t":"u"}', '{"k":"key"}', '{"k":"key","t":5}'])
      expect(parseInvalidationPayload(p)).toBeNull();
  });
});

describe("dispatch index: claim watch", () => {
  // SQLite flavour (no LISTEN connection): only the in-memory index is exercised.
  const dispatch = () => new ActionDispatch({} as Db, new ManualClock());

  it("work marked while a claim runs survives the claim's 'nothing left'", () => {
    const d = dispatch();
    d.workQueued(["m1"]);
    const watch = d.beginClaim("m1");
    // The claim read the database, found nothing; meanwhile a queue call committed and was heard.
    d.workQueued(["m1"]);
    d.setNext("m1", null, watch);
    expect(d.mayHaveWork("m1")).toBe(true);
  });

  it("without a mark meanwhile, the claim's decision stands (and the watch is released)", () => {
    const d = dispatch();
    d.workQueued(["m1"]);
    const watch = d.beginClaim("m1");
    d.setNext("m1", null, watch);
    expect(d.mayHaveWork("m1")).toBe(false);
    // A later claim is not affected by the earlier one's watch.
    const next = d.beginClaim("m1");
    d.setNext("m1", null, next);
    expect(d.mayHaveWork("m1")).toBe(false);
  });

  it("a mark for another machine does not touch this claim", () => {
    const d = dispatch();
    const watch = d.beginClaim("m1");
    d.workQueued(["m2"]);
    d.setNext("m1", null, watch);
    expect(d.mayHaveWork("m1")).toBe(false);
    expect(d.mayHaveWork("m2")).toBe(true);
  });

  it("wakes the machine's listeners, and only them", () => {
    const d = dispatch();
    const woken: string[] = [];
    d.onWork("m1", () => woken.push("m1"));
    d.onWork("m2", () => woken.push("m2"));
    d.workQueued(["m1"]);
    d.workAvailable("m1");
    expect(woken).toEqual(["m1", "m1"]);
  });

  it("SQLite numbers: consecutive and increasing across takeSeqs and reserveSeqs", async () => {
    const d = dispatch();
    expect(await d.takeSeqs(3)).toEqual([1, 2, 3]);
    expect(d.reserveSeqs(100)).toBe(4);
    expect(await d.takeSeqs(1)).toEqual([104]);
    expect(await d.takeSeqs(0)).toEqual([]);
  });
});
