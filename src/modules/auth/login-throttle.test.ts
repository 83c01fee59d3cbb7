// The login throttle's pair block (FAIL-015) against the order in which parallel attempts
// settle: attempts refused at the limit give their points back (they were not verified),
// and those refunds may land after another attempt has started the block; they must not
// count the block back under the limit (src/platform/limits/limiter.ts, `block`).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createLimiterFactory, type Limiter, type LimiterFactory } from '../../platform/limits/index.ts';
import { createLogger } from '../../platform/logger.ts';
import { createLoginThrottle, type LoginReservation } from './login-throttle.ts';

const config = { maxConsecutiveFailures: 5, failureWindowSeconds: 900, blockSeconds: 60, blockMaxSeconds: 3600, failuresPerEmailPerHour: 100, failuresPerIpPerDay: 1000 };

/** A factory whose limiters hold every reward until `release()`, then let them through: the late refunds of a burst. */
function withHeldRewards(factory: LimiterFactory) {
  const held: Array<() => void> = [];
  let released = false;
  const wrapped: LimiterFactory = {
    backend: factory.backend,
    createLimiter: (spec) => {
      const limiter = factory.createLimiter(spec);
      const late: Limiter = {
        ...limiter,
        reward: (key, points) =>
          released ? limiter.reward(key, points) : new Promise<void>((resolve, reject) => held.push(() => void limiter.reward(key, points).then(resolve, reject))),
      };
      return late;
    },
  };
  return {
    factory: wrapped,
    release: async () => {
      released = true;
      for (const run of held.splice(0)) run();
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

describe('login throttle', () => {
  it('FAIL-015: attempts refused at the limit whose refunds land after the block started leave the pair blocked', async () => {
    const { factory, release } = withHeldRewards(createLimiterFactory({ logger: createLogger('silent') }));
    const throttle = createLoginThrottle(factory, config);
    const email = 'owner@example.test';
    const ip = '198.51.100.7';
    const allowed: LoginReservation[] = [];
    for (let i = 0; i < config.maxConsecutiveFailures; i++) {
      const r = await throttle.reserve(email, ip);
      assert.equal(r.blocked, false);
      if (!r.blocked) allowed.push(r.reservation);
    }
    // Ten more guesses arrive while the first five are being verified: refused, their
    // refunds still on the way.
    const refused = Array.from({ length: 10 }, () => throttle.reserve(email, ip));
    await new Promise((resolve) => setImmediate(resolve));
    // The five verified guesses were wrong: the one holding the limit-th point blocks the pair.
    for (const r of allowed) await throttle.fail(r);
    await release();
    for (const r of await Promise.all(refused)) assert.equal(r.blocked, true);
    const next = await throttle.reserve(email, ip);
    assert.equal(next.blocked, true, 'the pair is still blocked after the late refunds');
  });
});
