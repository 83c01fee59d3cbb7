// What the app sends to its database while a piece of work runs: every call on `t.db`
// (statements inside a transaction go through its own handle and are not seen; the
// transaction itself is), with the rows a query answered. For tests that prove a read is
// served from memory, or reads only the columns it needs.
import type { TestApp } from './build-test-app.ts';

export interface Statement {
  method: 'query' | 'exec' | 'transaction';
  /** The SQL text; empty for a transaction. */
  text: string;
  /** The rows a query answered (filled when it has); empty otherwise. */
  rows: Array<Record<string, unknown>>;
}

export async function watchStatements<T>(t: TestApp, work: () => Promise<T>): Promise<{ result: T; statements: Statement[] }> {
  const db = t.db as unknown as Record<Statement['method'], (...args: unknown[]) => unknown>;
  const original = { query: db.query, exec: db.exec, transaction: db.transaction };
  const statements: Statement[] = [];
  for (const method of ['query', 'exec', 'transaction'] as const) {
    const call = original[method];
    db[method] = (...args: unknown[]) => {
      const statement: Statement = { method, text: method === 'transaction' ? '' : String(args[0]), rows: [] };
      statements.push(statement);
      const answer = call.apply(t.db, args);
      if (method === 'query') void (answer as Promise<{ rows: Statement['rows'] }>).then((r) => (statement.rows = r.rows), () => undefined);
      return answer;
    };
  }
  try {
    return { result: await work(), statements };
  } finally {
    Object.assign(db, original);
  }
}
