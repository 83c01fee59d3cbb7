// A plain `npm test` (no TEST_DATABASE_URL / TEST_REDIS_URL) must say how many proofs it
// did not run: tests that need PostgreSQL or Redis are skipped one by one, with the
// reason, never hidden inside a skipped describe block (which the runner reports as no
// test at all).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function testFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    if (name === 'node_modules' || name.startsWith('.')) return [];
    const full = path.join(dir, name);
    if (statSync(full).isDirectory()) return testFiles(full);
    return name.endsWith('.test.ts') ? [full] : [];
  });
}

it('tests that need PostgreSQL or Redis are skipped per test: no describe block carries a skip option or .skip', () => {
  const files = [...testFiles(path.join(ROOT, 'test')), ...testFiles(path.join(ROOT, 'src'))];
  assert.ok(files.length > 50, `found only ${files.length} test files`);
  const offenders = files.flatMap((file) => {
    const code = readFileSync(file, 'utf8').replace(/\/\/.*$/gm, '');
    // describe('name', { skip … }, …), describe.skip(…), suite(…, { skip … })
    const hits = code.match(/\b(?:describe|suite)(?:\.skip\s*\(|\s*\([^\n]*?,\s*\{[^}\n]*\bskip\b)/g) ?? [];
    return hits.map((hit) => `${path.relative(ROOT, file)}: ${hit}`);
  });
  assert.deepEqual(offenders, []);
});
