// The docs stay true to the code: every variable src/config.ts reads is in the README, the
// failure-point register has one row per id, and each row marked closed names tests that
// exist and carry the id.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../../helpers/processes.ts';

const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

function filesUnder(dir: string, suffix: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, entry);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...filesUnder(rel, suffix));
    else if (entry.endsWith(suffix)) out.push(rel);
  }
  return out;
}

const IDS = [
  ...Array.from({ length: 23 }, (_, i) => `FAIL-${String(i + 1).padStart(3, '0')}`),
  ...Array.from({ length: 8 }, (_, i) => `S-${String(i + 9).padStart(3, '0')}`),
];

describe('documentation', () => {
  it('the README documents every environment variable src/config.ts reads', () => {
    const source = read('src/config.ts');
    const names = new Set<string>();
    for (const match of source.matchAll(/\b(?:r\.\w+|rate)(?:<\w+>)?\(\s*'([A-Z][A-Z0-9_]+)'/g)) names.add(match[1] ?? '');
    // Per-tier variables are read as `${tier}_NAME` for FREE and PRO.
    for (const match of source.matchAll(/`\$\{tier\}_([A-Z0-9_]+)`/g)) {
      names.add(`FREE_${match[1]}`);
      names.add(`PRO_${match[1]}`);
    }
    assert.ok(names.has('PORT') && names.has('DATABASE_URL'), 'the variables were found');
    const readme = read('README.md');
    const missing = [...names].filter((name) => !readme.includes(`\`${name}\``));
    assert.deepEqual(missing, [], 'add these to the configuration tables in README.md');
  });

  it('the README quick start is exactly the two commands', () => {
    const readme = read('README.md');
    const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 1));
    const blocks = [...quickStart.matchAll(/```\w*\n([\s\S]*?)```/g)].map((m) => (m[1] ?? '').trim());
    assert.deepEqual(blocks, ['npm ci && npm start', 'npm test']);
  });

  it('docs/security/failure-points.md has one row per id; closed rows cite existing tests that carry the id', () => {
    const register = read('docs/security/failure-points.md');
    const rows = register.split('\n').filter((line) => /^\| (FAIL-\d{3}|S-\d{3}) \|/.test(line));
    assert.deepEqual(
      rows.map((row) => row.split('|')[1]?.trim()),
      IDS,
    );
    const testText = [...filesUnder('test', '.test.ts'), ...filesUnder('src', '.test.ts')].map((file) => read(file)).join('\n');
    for (const row of rows) {
      const cells = row.split('|').map((cell) => cell.trim());
      const [id, requirement, status, , tests] = cells.slice(1);
      assert.ok(['closed', 'partial', 'open'].includes(status ?? ''), `${id}: status ${status}`);
      for (const cited of (tests ?? '').matchAll(/`((?:test|src)\/[^`]+?\.test\.ts)`/g)) {
        assert.ok(existsSync(path.join(ROOT, cited[1] ?? '')), `${id} cites ${cited[1]}, which does not exist`);
      }
      if (status === 'closed') {
        // An alias row (`= FAIL-003: …`) is proven by the tests of the id it aliases.
        const aliases = [id ?? '', ...[...(requirement ?? '').matchAll(/= (FAIL-\d{3}|S-\d{3})/g)].map((m) => m[1] ?? '')];
        const proven = aliases.some((alias) => new RegExp(`['"\`]${alias}: `).test(testText));
        assert.ok(proven, `${id} is marked closed but no test name starts with "${aliases.join('" or "')}: "`);
      }
    }
  });
});
