// How every database-touching command starts: open the runtime and migrate (as `serve`
// does, so a fresh database gets its tables), run, and always close. A database that
// cannot be opened is one fatal log line and exit 1, never a stack on stderr. A PGlite
// data directory held by another process (a running `serve`) is refused the same way,
// and the command also says so on stderr: which process holds it and what to do.
import type { Config } from '../config.ts';
import { DataDirLockedError } from '../platform/db/data-dir-lock.ts';
import { migrate } from '../platform/db/migrations.ts';
import type { Logger } from '../platform/logger.ts';
import { openRuntime, type Runtime } from '../runtime.ts';
import type { Io } from './command.ts';

export async function openRuntimeOrLog(config: Config, logger: Logger, io?: Io): Promise<Runtime | undefined> {
  let runtime: Runtime | undefined;
  try {
    runtime = await openRuntime(config, logger);
    await migrate(runtime.db, logger);
    return runtime;
  } catch (err) {
    if (err instanceof DataDirLockedError) {
      logger.fatal({ event: 'data_dir_locked', dataDir: err.dataDir, holderPid: err.holder.pid }, err.message);
      io?.err(`financehub: ${err.message}`);
      return undefined;
    }
    logger.fatal({ err, event: 'startup_failed' }, 'could not open and migrate the database');
    await runtime?.close().catch((closeErr: unknown) => logger.error({ err: closeErr, event: 'shutdown_error' }, 'closing after a failed start failed'));
    return undefined;
  }
}

/** Runs `fn` on a migrated runtime and closes it afterwards; its result is the exit code. */
export async function withRuntime(config: Config, logger: Logger, io: Io, fn: (runtime: Runtime) => Promise<number>): Promise<number> {
  const runtime = await openRuntimeOrLog(config, logger, io);
  if (runtime === undefined) return 1;
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}
