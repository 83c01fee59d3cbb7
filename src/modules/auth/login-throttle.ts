// Brute-force protection for logins (FAIL-015), on the shared limiter factory
// (rate-limiter-flexible; Redis with in-memory insurance when configured):
//  - consecutive failures per (normalised email, IP): at the limit the pair is blocked,
//    for LOGIN_BLOCK_SECONDS doubling with each block of the day up to the maximum;
//  - failures per email across all IPs per hour, and per IP per day.
// Unknown emails are counted exactly like known ones, so throttling reveals nothing.
// A success resets the pair (not the email and IP totals: they bound a distributed guess).
import { createHash } from 'node:crypto';
import type { Limiter, LimiterFactory } from '../../platform/limits/index.ts';

export interface LoginThrottleConfig {
  maxConsecutiveFailures: number;
  failureWindowSeconds: number;
  blockSeconds: number;
  blockMaxSeconds: number;
  failuresPerEmailPerHour: number;
  failuresPerIpPerDay: number;
}

export interface ThrottleVerdict {
  blocked: boolean;
  retryAfterSeconds: number;
  /** Which limit blocks: for the security event only, never for the client. */
  scope?: 'pair' | 'email' | 'ip';
}

/** Emails are hashed before they become limiter keys: no addresses sit in Redis. */
const emailKey = (email: string) => createHash('sha256').update(email).digest('base64url');

export function createLoginThrottle(factory: LimiterFactory, config: LoginThrottleConfig) {
  const pair = factory.createLimiter({ name: 'login-fail-pair', points: config.maxConsecutiveFailures, durationSeconds: config.failureWindowSeconds });
  const pairBlocks = factory.createLimiter({ name: 'login-fail-blocks', points: 1_000_000, durationSeconds: 86_400 });
  const perEmail = factory.createLimiter({ name: 'login-fail-email', points: config.failuresPerEmailPerHour, durationSeconds: 3600 });
  const perIp = factory.createLimiter({ name: 'login-fail-ip', points: config.failuresPerIpPerDay, durationSeconds: 86_400 });

  const pairKey = (email: string, ip: string) => `${emailKey(email)}|${ip}`;
  const exhausted = async (limiter: Limiter, key: string) => {
    const state = await limiter.peek(key);
    return state.consumed >= limiter.points ? state.resetSeconds : 0;
  };

  return {
    /** Before the password is looked at: blocked callers get 429 whatever they send. */
    check: async (email: string, ip: string): Promise<ThrottleVerdict> => {
      const [p, e, i] = await Promise.all([
        exhausted(pair, pairKey(email, ip)),
        exhausted(perEmail, emailKey(email)),
        exhausted(perIp, ip),
      ]);
      const retryAfterSeconds = Math.max(p, e, i);
      if (retryAfterSeconds === 0) return { blocked: false, retryAfterSeconds: 0 };
      return { blocked: true, retryAfterSeconds, scope: p > 0 ? 'pair' : e > 0 ? 'email' : 'ip' };
    },

    /** Counts a failure; returns the block it started, if any. */
    fail: async (email: string, ip: string): Promise<{ blockedForSeconds: number } | null> => {
      const key = pairKey(email, ip);
      const [p] = await Promise.all([pair.consume(key), perEmail.consume(emailKey(email)), perIp.consume(ip)]);
      if (p.consumed < config.maxConsecutiveFailures) return null;
      const blocks = await pairBlocks.consume(key);
      const seconds = Math.min(config.blockMaxSeconds, config.blockSeconds * 2 ** Math.min(blocks.consumed - 1, 30));
      await pair.block(key, seconds);
      return { blockedForSeconds: seconds };
    },

    succeed: async (email: string, ip: string): Promise<void> => {
      const key = pairKey(email, ip);
      await Promise.all([pair.delete(key), pairBlocks.delete(key)]);
    },
  };
}

export type LoginThrottle = ReturnType<typeof createLoginThrottle>;
