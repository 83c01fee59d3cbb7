import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { normaliseStatement } from './database.ts';
import { loadMigrations } from './migrations.ts';

function dirWith(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'financehub-migrations-'));
  for (const [name, sql] of Object.entries(files)) writeFileSync(path.join(dir, name), sql);
  return dir;
}

describe('loadMigrations', () => {
  it('the repository migrations are numbered, unique and ordered', () => {
    const versions = loadMigrations().map((m) => m.version);
    assert.ok(versions.length >= 1);
    assert.deepEqual(versions, [...versions].sort((a, b) => a - b));
    assert.equal(new Set(versions).size, versions.length);
  });

  it('orders by number and checksums the SQL', () => {
    const dir = dirWith({ '0002_b.sql': 'SELECT 2;', '0001_a.sql': 'SELECT 1;', 'README.md': 'ignored' });
    try {
      const migrations = loadMigrations(dir);
      assert.deepEqual(migrations.map((m) => `${m.version}:${m.name}`), ['1:a', '2:b']);
      assert.match(migrations[0]?.checksum ?? '', /^[0-9a-f]{64}$/);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });

  it('refuses badly named files and duplicate numbers', () => {
    const badName = dirWith({ '1_a.sql': 'SELECT 1;' });
    const duplicate = dirWith({ '0001_a.sql': 'SELECT 1;', '0001_b.sql': 'SELECT 2;' });
    try {
      assert.throws(() => loadMigrations(badName), /must look like 0001_name\.sql/);
      assert.throws(() => loadMigrations(duplicate), /share version 1/);
    } finally {
      rmSync(badName, { recursive: true });
      rmSync(duplicate, { recursive: true });
    }
  });
});

describe('normaliseStatement', () => {
  it('S-016: collapses whitespace and bounds the length; it only ever sees the text', () => {
    assert.equal(normaliseStatement('SELECT  *\n  FROM t\tWHERE id = $1 '), 'SELECT * FROM t WHERE id = $1');
    const long = normaliseStatement(`SELECT ${'x, '.repeat(400)}1`);
    assert.equal(long.length, 501);
    assert.ok(long.endsWith('…'));
  });
});
