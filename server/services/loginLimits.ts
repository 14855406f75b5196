// Limits on password guessing (finding 12). A per-email limit let anyone keep a known user locked out
// from anywhere, so guesses are counted per (address, email) and per address instead, each with a
// backoff that doubles every time the limit is hit again within a day. A third party at another
// address cannot lock the victim out; an attacker at one address gets ever slower.
// Built on rate-limiter-flexible (a maintained library). On SQLite (one process) the counters are in
// memory; on PostgreSQL they are shared by every server process on the database (rateLimitShared.ts),
// so N processes do not give a guesser N times the budget.
import { createHash } from "node:crypto";
import { RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import { rateLimited } from "../domain/errors.ts";
import { inMemoryLimiter, type LimiterFactory } from "./rateLimitShared.ts";

/** A blocked key waits this long the first time, doubling on each further block within a day. */
const FIRST_BLOCK_SECONDS = 60;
/** The longest wait one block imposes. */
const MAX_BLOCK_SECONDS = 3600;
/** Blocks are remembered this long for the backoff. */
const STRIKE_WINDOW_SECONDS = 24 * 3600;
/** An address may try this many times the per-(address, email) budget: an office behind one NAT. */
const ADDRESS_FACTOR = 3;

export type LoginLimitOptions = {
  /** Attempts per (address, email) per window (right ones given back) before it is blocked. */
  failuresPerWindow: number;
  /** The counting window in seconds (60 by default; tests shorten it). */
  windowSeconds?: number;
  /** First block length in seconds (tests shorten it). */
  firstBlockSeconds?: number;
};

export class LoginLimits {
  readonly #pair: RateLimiterAbstract;
  readonly #address: RateLimiterAbstract;
  /** How many times a key was blocked within the strike window: the backoff's exponent. */
  readonly #strikes: RateLimiterAbstract;
  readonly #firstBlock: number;

  /** `make` builds the counters: in memory by default, or a shared store's (rateLimitShared.ts). */
  constructor(opts: LoginLimitOptions, make: LimiterFactory = inMemoryLimiter) {
    const duration = opts.windowSeconds ?? 60;
    this.#firstBlock = opts.firstBlockSeconds ?? FIRST_BLOCK_SECONDS;
    this.#pair = make("login-pair", opts.failuresPerWindow, duration);
    this.#address = make("login-address", opts.failuresPerWindow * ADDRESS_FACTOR, duration);
    this.#strikes = make("login-strikes", 64, STRIKE_WINDOW_SECONDS);
  }

  /**
   * Called before a password is checked: counts the attempt against the address and against this
   * (address, email) pair up front (every attempt costs a scrypt, and parallel guesses must count
   * before any of them is answered), and refuses when either is over its budget or blocked.
   */
  async beforeAttempt(ip: string, email: string): Promise<void> {
    for (const [limiter, key] of [
      [this.#address, ip],
      [this.#pair, pairKey(ip, email)],
    ] as const) {
      try {
        await limiter.consume(key);
      } catch (res) {
        throw await this.#refuse(limiter, key, res);
      }
    }
  }

  /** A right password: the attempt is given back to the address and the pair's failures are forgiven. */
  async succeeded(ip: string, email: string): Promise<void> {
    await this.#address.reward(ip);
    await this.#pair.delete(pairKey(ip, email));
  }

  /** Blocks `key` for the first block doubled per earlier block within a day; returns the seconds. */
  async #block(limiter: RateLimiterAbstract, key: string): Promise<number> {
    const strikes = await this.#strikes.penalty(hashed(`${limiter.keyPrefix}:${key}`));
    const seconds = Math.min(MAX_BLOCK_SECONDS, this.#firstBlock * 2 ** Math.min(strikes.consumedPoints - 1, 16));
    await limiter.block(key, seconds);
    return seconds;
  }

  async #refuse(limiter: RateLimiterAbstract, key: string, res: unknown): Promise<Error> {
    if (!(res instanceof RateLimiterRes)) return res instanceof Error ? res : new Error(String(res));
    // The first refusal of a window starts a block (with backoff); later ones report what is left.
    if (res.consumedPoints === limiter.points + 1) return refusal((await this.#block(limiter, key)) * 1000);
    return refusal(res.msBeforeNext);
  }
}

/**
 * Keys are hashed: an (address, email) pair can be longer than the shared table's varchar(255) key,
 * and the table then holds no email addresses in clear.
 */
function hashed(key: string): string {
  return createHash("sha256").update(key).digest("base64url");
}

function pairKey(ip: string, email: string): string {
  return hashed(`${ip}\n${email}`);
}

function refusal(msBeforeNext: number) {
  const seconds = Math.max(1, Math.ceil(msBeforeNext / 1000));
  return rateLimited(`Too many sign-in attempts from your address. Retry in ${seconds} s`, seconds);
}
