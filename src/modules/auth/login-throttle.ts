// Brute-force protection for logins (FAIL-015), on the shared limiter factory
// (rate-limiter-flexible; Redis with in-memory insurance when configured):
//  - consecutive failures per (normalised email, IP): at the limit the pair is blocked,
//    for LOGIN_BLOCK_SECONDS doubling with each block of the day up to the maximum;
//  - failures per email across all IPs per hour, and per IP per day.
// Unknown emails are counted exactly like known ones, so throttling reveals nothing.
//
// Atomicity: an attempt RESERVES its point on every counter (one atomic increment each,
// in Redis or in process) BEFORE the password is verified, and the reservation is kept
// as the failure, or refunded on success. N parallel guesses therefore take N distinct
// counter values and only those within the limit get verified; a check-then-count
// scheme let every one of them through. A refused attempt gives its points back: it was
// not verified, so it is not a failure.
//
// The owner's way in: the per-email cap (a distributed guess at one account) would also
// lock the real owner out from everywhere. An attempt the caller says comes from the
// owner (a known device, or a known address with no failures) is not refused by that cap;
// the pair and per-IP limits still apply to it.
import { createHash } from 'node:crypto';
import type { Limiter, LimiterFactory, LimitResult } from '../../platform/limits/index.ts';

export interface LoginThrottleConfig {
  maxConsecutiveFailures: number;
  failureWindowSeconds: number;
  blockSeconds: number;
  blockMaxSeconds: number;
  failuresPerEmailPerHour: number;
  failuresPerIpPerDay: number;
}

/** Asked only when the per-email cap refuses an attempt the pair and IP limits allow. */
export type OwnerWayIn = (pair: { failuresBefore: number }) => Promise<boolean>;

/** An attempt that may be verified; exactly one of fail/succeed must settle it. */
export interface LoginReservation {
  readonly email: string;
  readonly ip: string;
  /** False when the attempt passed the exhausted per-email cap as the owner's. */
  readonly emailCounted: boolean;
  /** This attempt's place in the pair's count: the one that reaches the limit starts the block. */
  readonly pairCount: number;
}

export type ReserveResult =
  | { blocked: false; reservation: LoginReservation }
  /** `scope` names the limit that refused: for the security event only, never for the client. */
  | { blocked: true; retryAfterSeconds: number; scope: 'pair' | 'email' | 'ip' };

/** Emails are hashed before they become limiter keys: no addresses sit in Redis. */
const emailKey = (email: string) => createHash('sha256').update(email).digest('base64url');

export function createLoginThrottle(factory: LimiterFactory, config: LoginThrottleConfig) {
  const pair = factory.createLimiter({ name: 'login-fail-pair', points: config.maxConsecutiveFailures, durationSeconds: config.failureWindowSeconds });
  const pairBlocks = factory.createLimiter({ name: 'login-fail-blocks', points: 1_000_000, durationSeconds: 86_400 });
  const perEmail = factory.createLimiter({ name: 'login-fail-email', points: config.failuresPerEmailPerHour, durationSeconds: 3600 });
  const perIp = factory.createLimiter({ name: 'login-fail-ip', points: config.failuresPerIpPerDay, durationSeconds: 86_400 });

  const pairKey = (email: string, ip: string) => `${emailKey(email)}|${ip}`;
  const refund = async (refunds: Array<[Limiter, string]>) => {
    await Promise.all(refunds.map(([limiter, key]) => limiter.reward(key)));
  };

  return {
    /**
     * Before the password is looked at: takes one point of every counter atomically.
     * Blocked callers get 429 whatever they send (their points are given back).
     */
    reserve: async (email: string, ip: string, ownerWayIn?: OwnerWayIn): Promise<ReserveResult> => {
      const pk = pairKey(email, ip);
      const ek = emailKey(email);
      const [p, e, i] = await Promise.all([pair.consume(pk), perEmail.consume(ek), perIp.consume(ip)]);
      const refused = (scope: 'pair' | 'email' | 'ip', results: LimitResult[]) => ({
        blocked: true as const,
        retryAfterSeconds: Math.max(...results.filter((r) => !r.allowed).map((r) => r.resetSeconds)),
        scope,
      });
      if (!p.allowed || !i.allowed) {
        await refund([[pair, pk], [perEmail, ek], [perIp, ip]]);
        return refused(!p.allowed ? 'pair' : 'ip', [p, e, i]);
      }
      if (e.allowed) return { blocked: false, reservation: { email, ip, emailCounted: true, pairCount: p.consumed } };
      // Over the per-email cap: this point is not kept either way.
      await perEmail.reward(ek);
      let owner = false;
      try {
        owner = ownerWayIn !== undefined && (await ownerWayIn({ failuresBefore: p.consumed - 1 }));
      } catch (err) {
        await refund([[pair, pk], [perIp, ip]]);
        throw err;
      }
      if (owner) {
        return { blocked: false, reservation: { email, ip, emailCounted: false, pairCount: p.consumed } };
      }
      await refund([[pair, pk], [perIp, ip]]);
      return refused('email', [e]);
    },

    /** The reserved attempt failed: its points stay counted. Returns the block it started, if any. */
    fail: async (r: LoginReservation): Promise<{ blockedForSeconds: number } | null> => {
      // Exactly one reservation holds the limit-th point, so parallel failures start one block.
      if (r.pairCount !== config.maxConsecutiveFailures) return null;
      const key = pairKey(r.email, r.ip);
      const blocks = await pairBlocks.consume(key);
      const seconds = Math.min(config.blockMaxSeconds, config.blockSeconds * 2 ** Math.min(blocks.consumed - 1, 30));
      await pair.block(key, seconds);
      return { blockedForSeconds: seconds };
    },

    /** The attempt could not be decided (verification refused or failed): not a failure, every point goes back. */
    release: async (r: LoginReservation): Promise<void> => {
      await Promise.all([
        pair.reward(pairKey(r.email, r.ip)),
        perIp.reward(r.ip),
        ...(r.emailCounted ? [perEmail.reward(emailKey(r.email))] : []),
      ]);
    },

    /** The reserved attempt succeeded: refunds the email and IP points and resets the pair. */
    succeed: async (r: LoginReservation): Promise<void> => {
      const key = pairKey(r.email, r.ip);
      await Promise.all([
        pair.delete(key),
        pairBlocks.delete(key),
        perIp.reward(r.ip),
        ...(r.emailCounted ? [perEmail.reward(emailKey(r.email))] : []),
      ]);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
