// Optional Redis: one client with reconnect and capped exponential backoff. Commands
// fail fast while it is down (no offline queue), so callers fall back to in-process
// state and the service keeps serving.
import { Redis } from 'ioredis';
import type { Logger } from './logger.ts';

export type { Redis } from 'ioredis';

export function createRedis(url: string, logger: Logger, keyPrefix = ''): Redis {
  const client = new Redis(url, {
    keyPrefix,
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    commandTimeout: 1000,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 6), 5000),
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (!down) logger.warn({ err, event: 'redis_down' }, 'redis unavailable');
    down = true;
  });
  client.on('ready', () => {
    if (down) logger.info({ event: 'redis_up' }, 'redis available again');
    down = false;
  });
  return client;
}

/** Resolves to the round trip in ms, or throws; bounded so readiness never hangs. */
export async function pingRedis(client: Redis, timeoutMs = 1000): Promise<number> {
  const started = performance.now();
  await Promise.race([
    client.ping(),
    new Promise((_, reject) => setTimeout(() => reject(new Error('redis ping timed out')), timeoutMs).unref()),
  ]);
  return performance.now() - started;
}
