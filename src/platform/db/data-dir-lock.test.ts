import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { DataDirLockedError, LOCK_FILE, lockDataDir } from './data-dir-lock.ts';

const dirs: string[] = [];
const fresh = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fh-lock-'));
  dirs.push(dir);
  return dir;
};
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('data directory lock', () => {
  it('writes the holder pid, refuses a second opener in the same process, and releases', () => {
    const dir = fresh();
    const lock = lockDataDir(dir, 'financehub serve');
    const file = path.join(dir, LOCK_FILE);
    assert.equal((JSON.parse(readFileSync(file, 'utf8')) as { pid: number }).pid, process.pid);
    assert.throws(() => lockDataDir(dir), (err: unknown) => err instanceof DataDirLockedError && err.holder.pid === process.pid && /financehub serve/.test(err.message));
    lock.release();
    assert.equal(existsSync(file), false);
    lockDataDir(dir).release();
  });

  it('refuses while a live process holds it, naming that pid and what to do', () => {
    const dir = fresh();
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
    try {
      writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: child.pid, hostname: os.hostname(), command: 'financehub serve', started_at: '2026-01-01T00:00:00.000Z' }));
      assert.throws(
        () => lockDataDir(dir),
        (err: unknown) => err instanceof DataDirLockedError && err.message.includes(`in use by process ${child.pid} (financehub serve`) && err.message.includes('Stop that process first'),
      );
      assert.ok(existsSync(path.join(dir, LOCK_FILE)), 'a live holder\'s lock is left alone');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('replaces a stale lock (its pid no longer runs) and a half-written one', () => {
    const dir = fresh();
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: dead, hostname: os.hostname(), command: 'financehub serve', started_at: '2026-01-01T00:00:00.000Z' }));
    const lock = lockDataDir(dir);
    assert.equal(lock.replaced?.pid, dead);
    lock.release();
    writeFileSync(path.join(dir, LOCK_FILE), '{"pid":');
    lockDataDir(dir).release();
  });

  it('a lock with this process\'s pid that this process does not hold is a previous incarnation\'s (pid 1 in a restarted container)', () => {
    const dir = fresh();
    writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, hostname: 'old-container', command: 'financehub serve', started_at: '2026-01-01T00:00:00.000Z' }));
    const lock = lockDataDir(dir);
    assert.equal(lock.replaced?.pid, process.pid);
    lock.release();
  });
});
