import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ESLint, type Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { CONVERSION_FILES, moneyGuardConfigs, STRICT_FILES } from '../../../scripts/money-guard.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PLANTED = readFileSync(join(ROOT, 'test/fixtures/money-guard/planted.ts'), 'utf8');

/** ESLint with only the money guard (no type information needed, so it is fast). */
function guardOnly(): ESLint {
  return new ESLint({
    cwd: ROOT,
    overrideConfigFile: true,
    overrideConfig: [
      { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser } },
      ...(moneyGuardConfigs() as Linter.Config[]),
    ],
  });
}

async function violations(eslint: ESLint, text: string, filePath: string): Promise<Array<{ line: number; message: string }>> {
  const [result] = await eslint.lintText(text, { filePath: join(ROOT, filePath) });
  assert.ok(result);
  assert.equal(result.messages.filter((m) => m.fatal === true).length, 0, JSON.stringify(result.messages));
  return result.messages.filter((m) => m.ruleId === 'no-restricted-syntax').map((m) => ({ line: m.line, message: m.message }));
}

describe('FAIL-002 source guard', () => {
  it('FAIL-002: the guard catches a planted parseFloat (and Number(), Math.*, unary +, toFixed, toNumber) in a financial module', async () => {
    const found = await violations(guardOnly(), PLANTED, 'src/modules/portfolios/planted.ts');
    const lines = found.map((v) => v.line);
    assert.ok(lines.includes(5), 'parseFloat on line 5');
    assert.match(found.find((v) => v.line === 5)?.message ?? '', /FAIL-002.*parseDecimal/);
    for (const line of [6, 7, 8, 9, 10, 12, 13]) assert.ok(lines.includes(line), `line ${line} flagged: ${JSON.stringify(found)}`);
    // the same text in src/money is refused too
    assert.ok((await violations(guardOnly(), PLANTED, 'src/money/planted.ts')).some((v) => v.line === 5));
  });

  it('FAIL-002: in market and indicators only float conversions are refused; integer Number()/Math.* stay allowed', async () => {
    const found = await violations(guardOnly(), PLANTED, 'src/modules/indicators/planted.ts');
    const lines = new Set(found.map((v) => v.line));
    for (const line of [5, 7, 10, 12]) assert.ok(lines.has(line), `line ${line} flagged`);
    for (const line of [6, 9, 13]) assert.ok(!lines.has(line), `line ${line} allowed in the integer tier`);
    // test files are exempt everywhere, and other modules are not in scope
    assert.deepEqual(await violations(guardOnly(), PLANTED, 'src/modules/portfolios/planted.test.ts'), []);
    assert.deepEqual(await violations(guardOnly(), PLANTED, 'src/platform/planted.ts'), []);
  });

  it('FAIL-002: the real financial modules pass the guard, and eslint.config.js applies it', async () => {
    const dirs = [...STRICT_FILES, ...CONVERSION_FILES].map((glob) => glob.replace('/**/*.ts', '')).filter((dir) => existsSync(join(ROOT, dir)));
    assert.ok(dirs.includes('src/money') && dirs.includes('src/modules/portfolios'));
    const results = await guardOnly().lintFiles(dirs.map((dir) => `${dir}/**/*.ts`));
    const problems = results.flatMap((r) => r.messages.map((m) => `${r.filePath}:${m.line} ${m.message}`));
    assert.deepEqual(problems, []);
    assert.ok(results.length > 5);

    const config = (await new ESLint({ cwd: ROOT }).calculateConfigForFile(join(ROOT, 'src/modules/portfolios/holdings.ts'))) as Linter.Config;
    const rule = config.rules?.['no-restricted-syntax'];
    assert.ok(Array.isArray(rule) && JSON.stringify(rule).includes('parseFloat'), 'eslint.config.js spreads moneyGuardConfigs()');
  });
});
