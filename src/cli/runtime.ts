// How every database-touching command starts: open the runtime and migrate (as `serve`
// does, so a fresh database gets its tables), run, and always close. A database that
// cannot be opened is one fatal log line and exit 1, never a stack on stderr.
import type { Config } from '../config.ts';
import { migrate } from '../platform/db/migrations.ts';
import type { Logger } from '../platform/logger.ts';
import { openRuntime, type Runtime } from '../runtime.ts';

export async function openRuntimeOrLog(config: Config, logger: Logger): Promise<Runtime | undefined> {
  let runtime: Runtime | undefined;
  try {
    runtime = await openRuntime(config, logger);
    await migrate(runtime.db, logger);
    return runtime;
  } catch (err) {
    logger.fatal({ err, event: 'startup_failed' }, 'could not open and migrate the database');
    await runtime?.close().catch((closeErr: unknown) => logger.error({ err: closeErr, event: 'shutdown_error' }, 'closing after a failed start failed'));
    return undefined;
  }
}

/** Runs `fn` on a migrated runtime and closes it afterwards; its result is the exit code. */
export async function withRuntime(config: Config, logger: Logger, fn: (runtime: Runtime) => Promise<number>): Promise<number> {
  const runtime = await openRuntimeOrLog(config, logger);
  if (runtime === undefined) return 1;
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}
