// Configuration errors stop the real process at start: non-zero exit and ONE line on
// stderr naming the variable and what is wrong, never the secret it may contain.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, tempDir } from '../../helpers/processes.ts';

describe('configuration errors (financehub serve)', () => {
  let data: ReturnType<typeof tempDir>;
  before(() => {
    data = tempDir();
  });
  after(() => data.remove());

  // Each case starts a process, so only the shapes that matter here; src/config.test.ts
  // checks every variable's rules in process.
  const cases: { env: Record<string, string>; variable: string; hidden?: string }[] = [
    { env: { PORT: 'abc' }, variable: 'PORT' },
    { env: { DATABASE_POOL_MAX: '0' }, variable: 'DATABASE_POOL_MAX' },
    { env: { DATABASE_URL: 'postgres://admin:hunter2-secret@[::1' }, variable: 'DATABASE_URL', hidden: 'hunter2-secret' },
    { env: { REDIS_URL: 'not a url' }, variable: 'REDIS_URL' },
    { env: { METRICS_TOKEN: 'short' }, variable: 'METRICS_TOKEN', hidden: 'short' },
  ];

  for (const { env, variable, hidden } of cases) {
    it(`${JSON.stringify(env)} exits non-zero with one line naming ${variable}`, async () => {
      const result = await runCli(['serve'], { DATA_DIR: `${data.dir}/data`, ...env });
      assert.notEqual(result.code, 0);
      assert.notEqual(result.code, null, 'exited by itself, not killed');
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${result.stderr}`);
      assert.match(lines[0] ?? '', new RegExp(`\\b${variable}\\b`));
      assert.match(lines[0] ?? '', /invalid configuration/);
      assert.equal(result.stdout, '', 'nothing started, nothing logged');
      if (hidden !== undefined) assert.ok(!result.stderr.includes(hidden), 'the value is not echoed');
    });
  }

  it('financehub migrate stops on bad configuration the same way', async () => {
    const result = await runCli(['migrate'], { DATA_DIR: `${data.dir}/data`, DATABASE_POOL_MAX: '0' });
    assert.equal(result.code, 1);
    assert.match(result.stderr.trim(), /^financehub: invalid configuration: DATABASE_POOL_MAX: /);
  });
});
