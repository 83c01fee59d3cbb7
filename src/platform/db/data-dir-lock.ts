// PGlite is one process's database: two processes opening the same DATA_DIR each keep
// their own copy in memory and the last one to write its files wins, so rows written by
// the other are silently lost. Whoever opens a data directory therefore holds
// `<DATA_DIR>/financehub.lock`, created exclusively (O_EXCL) with the holder's pid. A
// lock whose pid no longer runs on this host is stale (a killed process) and is
// replaced; a live holder makes the second opener fail with DataDirLockedError, which
// names that process and what to do instead. Like PostgreSQL's postmaster.pid, the pid
// is checked on this host: a lock carrying this process's own pid that this process
// does not hold is a previous incarnation's (a container restarted as pid 1), so stale.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';

export const LOCK_FILE = 'financehub.lock';

/** Lock files this process holds, so opening one directory twice in-process is refused too. */
const held = new Set<string>();

export interface LockHolder {
  pid: number;
  hostname: string;
  command: string;
  started_at: string;
}

export class DataDirLockedError extends Error {
  readonly holder: LockHolder;
  readonly dataDir: string;
  constructor(dataDir: string, holder: LockHolder) {
    super(
      `the data directory ${dataDir} is in use by process ${holder.pid} (${holder.command}, on ${holder.hostname} since ${holder.started_at}). ` +
        'PGlite serves one process only: a second writer would lose data. Stop that process first, ' +
        'or make the change through the running server\'s HTTP API (for example POST /v1/admin/market/prices/:symbol/import with an admin token); ' +
        `if no such process runs, delete ${path.join(dataDir, LOCK_FILE)}.`,
    );
    this.name = 'DataDirLockedError';
    this.holder = holder;
    this.dataDir = dataDir;
  }
}

/** Whether `pid` runs on this host (EPERM: it runs, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || !Number.isSafeInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return {
      pid: parsed.pid,
      hostname: typeof parsed.hostname === 'string' ? parsed.hostname : 'unknown host',
      command: typeof parsed.command === 'string' ? parsed.command : 'unknown command',
      started_at: typeof parsed.started_at === 'string' ? parsed.started_at : 'unknown time',
    };
  } catch {
    // Unreadable or half-written (the holder died while writing it): treated as stale.
    return undefined;
  }
}

export interface DataDirLock {
  /** Removes the lock file if it is still this process's. */
  release(): void;
  /** What a stale lock was replaced from, for a log line. */
  replaced?: LockHolder;
}

/** Takes the lock on `dataDir` (created when missing) or throws DataDirLockedError. */
export function lockDataDir(dataDir: string, command = process.argv.slice(1).map((a) => path.basename(a)).join(' ')): DataDirLock {
  mkdirSync(dataDir, { recursive: true });
  const file = path.resolve(dataDir, LOCK_FILE);
  const me: LockHolder = { pid: process.pid, hostname: hostname(), command: command.slice(0, 200) || 'node', started_at: new Date().toISOString() };
  let replaced: LockHolder | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = readHolder(file);
      const stale = holder === undefined || (holder.pid === process.pid ? !held.has(file) : !alive(holder.pid));
      if (!stale) throw new DataDirLockedError(dataDir, holder);
      replaced = holder;
      try {
        unlinkSync(file);
      } catch (unlinkErr) {
        if ((unlinkErr as NodeJS.ErrnoException).code !== 'ENOENT') throw unlinkErr;
      }
      continue;
    }
    try {
      writeSync(fd, JSON.stringify(me));
    } finally {
      closeSync(fd);
    }
    held.add(file);
    return {
      ...(replaced === undefined ? {} : { replaced }),
      release() {
        held.delete(file);
        if (readHolder(file)?.pid !== me.pid) return;
        try {
          unlinkSync(file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
        }
      },
    };
  }
  // Lost three races against other openers in a row: someone else holds it now.
  const holder = readHolder(file);
  throw new DataDirLockedError(dataDir, holder ?? { pid: 0, hostname: 'unknown host', command: 'unknown command', started_at: 'unknown time' });
}
