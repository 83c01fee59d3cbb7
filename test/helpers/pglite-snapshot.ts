// A migrated, empty PGlite database as a `dumpDataDir` tarball, made once per set of
// migrations and shared by every test process: an in-memory test database loads it in
// about 0.25 s of CPU, where initdb and the migrations cost 1.3 s (2.5 s for the first
// database of a process). The file is named by a hash of what shapes the schema (the
// migrations, the runner, the PGlite version), so a changed migration makes a new one.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate } from '../../src/platform/db/migrations.ts';
import { openDatabase } from '../../src/platform/db/index.ts';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/platform/logger.ts';
import { ROOT } from './processes.ts';

const PREFIX = 'financehub-test-db-';

function snapshotFile(): string {
  const hash = createHash('sha256');
  const migrations = path.join(ROOT, 'migrations');
  for (const name of readdirSync(migrations).sort()) {
    hash.update(name).update(readFileSync(path.join(migrations, name)));
  }
  hash.update(readFileSync(path.join(ROOT, 'src/platform/db/migrations.ts')));
  hash.update(readFileSync(path.join(ROOT, 'node_modules/@electric-sql/pglite/package.json')));
  return path.join(tmpdir(), `${PREFIX}${hash.digest('hex').slice(0, 20)}.tar`);
}

async function makeSnapshot(file: string): Promise<Blob> {
  const logger = createLogger('silent');
  const db = await openDatabase(loadConfig({ DATA_DIR: 'memory' }), logger);
  try {
    await migrate(db, logger);
    if (db.native.kind !== 'pglite') throw new Error('the snapshot is of an in-memory PGlite database');
    const tarball = await db.native.pglite.dumpDataDir('none');
    // Written under a name of its own, then renamed: a parallel test process reads either
    // no file or a whole one. Snapshots of older migrations are removed.
    const partial = `${file}.${process.pid}.partial`;
    writeFileSync(partial, Buffer.from(await tarball.arrayBuffer()));
    renameSync(partial, file);
    for (const name of readdirSync(tmpdir())) {
      if (name.startsWith(PREFIX) && name.endsWith('.tar') && path.join(tmpdir(), name) !== file) rmSync(path.join(tmpdir(), name), { force: true });
    }
    return tarball;
  } finally {
    await db.close();
  }
}

let cached: Promise<Blob> | undefined;

/** The migrated empty database, from the shared file when it exists. */
export function migratedSnapshot(): Promise<Blob> {
  cached ??= (async () => {
    const file = snapshotFile();
    try {
      return new Blob([readFileSync(file)]);
    } catch {
      return makeSnapshot(file);
    }
  })();
  return cached;
}
