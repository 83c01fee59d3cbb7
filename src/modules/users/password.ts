// Password policy and hashing. argon2id through @node-rs/argon2 at no less than OWASP's
// minimum (m=19456 KiB, t=2, p=1: config refuses lower values); strength by zxcvbn-ts with
// the common and English dictionaries, on a thread of its own (password-strength.worker.ts)
// started on first use, since they are large.
import { hash, verify, type Algorithm } from '@node-rs/argon2';
import { bulkhead, BulkheadRejectedError } from 'cockatiel';
import { badRequest, serviceUnavailable, type FieldProblem } from '../../platform/errors.ts';
import type { Logger } from '../../platform/logger.ts';
import { createWorkerThread, WorkerBusyError, WorkerTimeoutError } from '../../platform/worker-thread.ts';
import { PASSWORD_SCORED_LENGTH, type StrengthAnswer, type StrengthTask } from './password-strength.ts';

export { PASSWORD_SCORED_LENGTH, type StrengthAnswer } from './password-strength.ts';

export interface HashCost {
  memoryKib: number;
  timeCost: number;
  parallelism: number;
}

/**
 * How many argon2 computations run at once, and how many may wait. Each one holds a core
 * for tens of milliseconds; unbounded, a login flood takes every core and the rest of the
 * API (health, authenticated reads) degrades first (FAIL-023). Past the queue, sign-ins
 * get 503 with Retry-After — the same for every account, so nothing is revealed (FAIL-010).
 */
export interface HashConcurrency {
  maxConcurrent: number;
  maxQueue: number;
}

export const OWASP_MINIMUM: HashCost = { memoryKib: 19_456, timeCost: 2, parallelism: 1 };

export const PASSWORD_MIN_LENGTH = 10;
export const PASSWORD_MAX_LENGTH = 1024;
export const PASSWORD_MIN_SCORE = 3;
export interface PasswordHasher {
  hash: (password: string) => Promise<string>;
  /** False for a wrong password or a malformed hash; never throws on user input. */
  verify: (passwordHash: string, password: string) => Promise<boolean>;
  /** Spends the same work as a real verification, for callers with no user (FAIL-010). */
  verifyDummy: (password: string) => Promise<void>;
  /** Computes the dummy hash now, so the first unknown-email login is not slower than the rest. */
  prepare: () => Promise<void>;
}

export function createPasswordHasher(cost: HashCost, concurrency: HashConcurrency = { maxConcurrent: 1, maxQueue: 64 }): PasswordHasher {
  if (cost.memoryKib < OWASP_MINIMUM.memoryKib || cost.timeCost < OWASP_MINIMUM.timeCost || cost.parallelism < 1) {
    throw new Error('argon2 cost below the OWASP minimum');
  }
  const options = {
    // Algorithm.Argon2id; a const enum, which type stripping cannot read by name.
    algorithm: 2 as Algorithm,
    memoryCost: cost.memoryKib,
    timeCost: cost.timeCost,
    parallelism: cost.parallelism,
  };
  const slots = bulkhead(concurrency.maxConcurrent, concurrency.maxQueue);
  const limited = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await slots.execute(work);
    } catch (err) {
      if (err instanceof BulkheadRejectedError) {
        throw serviceUnavailable('overloaded', 'Too many sign-ins are being processed; retry shortly.', 1);
      }
      throw err;
    }
  };
  let dummy: Promise<string> | undefined;
  const dummyHash = () => (dummy ??= hash('financehub-dummy-password-for-timing', options));
  const doVerify = (passwordHash: string, password: string): Promise<boolean> =>
    // A malformed stored hash is a failed login, not a 500 that tells users apart; a
    // rejection for lack of capacity (503) is not a wrong password and reaches the caller.
    limited(() => verify(passwordHash, password).catch(() => false));
  return {
    hash: (password) => limited(() => hash(password, options)),
    verify: doVerify,
    verifyDummy: async (password) => {
      await doVerify(await dummyHash(), password);
    },
    prepare: async () => {
      await dummyHash();
    },
  };
}

/** The words of the account with `email` that its password must not be built from: the address and its local part. */
export function accountWords(email: string): string[] {
  return [email, email.split('@')[0] ?? ''];
}

export interface PasswordPolicy {
  /** Throws a 400 `weak_password` (or `validation_failed` for length) naming the problem. */
  assertAcceptable: (password: string, userInputs?: string[]) => Promise<void>;
  /** zxcvbn's verdict on the scored prefix of `password`, from the strength thread. */
  score: (password: string, userInputs?: string[]) => Promise<StrengthAnswer>;
  /** Stops the strength thread (app shutdown). */
  close: () => Promise<void>;
}

/**
 * The password policy: length in characters (code points), then zxcvbn's score of the first
 * PASSWORD_SCORED_LENGTH characters, computed on the strength thread. At most
 * `maxWaiting` checks wait for it and none runs past `timeoutMs`; past either the caller
 * gets 503 `overloaded` with Retry-After, as when argon2's queue is full.
 */
export function createPasswordPolicy(options: { logger: Pick<Logger, 'warn' | 'error'>; timeoutMs?: number; maxWaiting?: number }): PasswordPolicy {
  const thread = createWorkerThread<StrengthTask, StrengthAnswer>({
    url: new URL('./password-strength.worker.ts', import.meta.url),
    what: 'the password strength check',
    event: 'password_strength',
    logger: options.logger,
    timeoutMs: options.timeoutMs ?? 10_000,
    maxWaiting: options.maxWaiting ?? 64,
    maxHeapMb: 256,
  });
  const score = async (password: string, userInputs: string[] = []): Promise<StrengthAnswer> => {
    try {
      return await thread.run({ password: [...password].slice(0, PASSWORD_SCORED_LENGTH).join(''), userInputs });
    } catch (err) {
      if (err instanceof WorkerBusyError || err instanceof WorkerTimeoutError) {
        throw serviceUnavailable('overloaded', 'Too many passwords are being checked; retry shortly.', 1);
      }
      throw err;
    }
  };
  return {
    score,
    async assertAcceptable(password, userInputs = []) {
      const length = [...password].length;
      if (length < PASSWORD_MIN_LENGTH || length > PASSWORD_MAX_LENGTH) {
        const problems: FieldProblem[] = [{ field: 'body.password', message: `must be ${PASSWORD_MIN_LENGTH} to ${PASSWORD_MAX_LENGTH} characters` }];
        throw badRequest('validation_failed', problems.map((p) => `${p.field}: ${p.message}`).join('; '), problems);
      }
      const result = await score(password, userInputs);
      if (result.score < PASSWORD_MIN_SCORE) {
        const hint = [result.warning, ...result.suggestions].filter((s): s is string => Boolean(s)).join(' ');
        throw badRequest('weak_password', `The password is too easy to guess.${hint === '' ? '' : ` ${hint}`}`, [
          { field: 'body.password', message: 'is too easy to guess' },
        ]);
      }
    },
    close: () => thread.close(),
  };
}
