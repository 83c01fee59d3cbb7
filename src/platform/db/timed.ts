// Wraps a Queryable so statements slower than SLOW_QUERY_MS are logged with their
// duration and normalised text, never their parameter values (S-016).
import type { Logger } from '../logger.ts';
import { normaliseStatement, type Queryable } from './database.ts';

export function timed(inner: Queryable, logger: Logger, slowQueryMs: number): Queryable {
  const observe = async <T>(text: string, run: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    try {
      return await run();
    } finally {
      const durationMs = performance.now() - started;
      if (durationMs >= slowQueryMs) {
        logger.warn(
          { event: 'slow_query', durationMs: Math.round(durationMs), statement: normaliseStatement(text) },
          'slow query',
        );
      }
    }
  };
  const copyFrom = inner.copyFrom;
  return {
    query: (text, params) => observe(text, () => inner.query(text, params)),
    exec: (sql) => observe(sql, () => inner.exec(sql)),
    ...(copyFrom === undefined ? {} : { copyFrom: (sql: string, source: AsyncIterable<string>) => observe(sql, () => copyFrom(sql, source)) }),
  };
}
