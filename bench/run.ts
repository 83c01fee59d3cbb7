// `npm run bench` — runs every benchmark module in bench/ and records its results.
//
// CONVENTION (for everyone adding a benchmark):
//   * A benchmark is a file bench/<name>.bench.ts exporting `description` (one sentence)
//     and `run(ctx)` (see BenchModule in bench/lib/context.ts). It is found automatically.
//   * Inside run(ctx):
//       const server = await ctx.startServer({ env: { … } });   // real `financehub serve`
//       await ctx.http('GET /health/live', { url: `${server.url}/health/live`, expectStatus: 200 });
//       await ctx.op('Decimal add', () => a.plus(b), { iterations: 100_000 });
//     ctx.http runs autocannon (warm-up, then BENCH_DURATION_S seconds, default 10) and
//     fails the entry if a response has another status than expectStatus; ctx.op times a
//     function in process; ctx.record adds a row measured another way. Set up data (users,
//     portfolios) through the HTTP API of the server you started, before measuring.
//   * Results are written to bench/results/<name>-<YYYY-MM-DD>.json and .md (machine, date,
//     throughput, p50, p99), and the table is printed. Commit them.
//   * `npm run bench` runs all modules one after another; `npm run bench -- NAME [NAME…]`
//     runs only those; `npm run bench -- --list` lists them. Compare figures measured in
//     one run on one machine only (the CI machine has 2 noisy cores).
// See bench/README.md for more.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { createContext, type BenchModule } from './lib/context.ts';
import { markdownTable, writeReport } from './lib/results.ts';
import { ROOT } from './lib/server.ts';

const BENCH_DIR = path.join(ROOT, 'bench');
const SUFFIX = '.bench.ts';

function available(): string[] {
  return readdirSync(BENCH_DIR)
    .filter((file) => file.endsWith(SUFFIX))
    .map((file) => file.slice(0, -SUFFIX.length))
    .sort();
}

function isBenchModule(value: unknown): value is BenchModule {
  const candidate = value as Partial<BenchModule> | null;
  return typeof candidate?.run === 'function' && typeof candidate.description === 'string';
}

async function runOne(name: string): Promise<boolean> {
  const loaded: unknown = await import(pathToFileURL(path.join(BENCH_DIR, `${name}${SUFFIX}`)).href);
  if (!isBenchModule(loaded)) {
    console.error(`bench/${name}${SUFFIX} must export \`description\` (string) and \`run(ctx)\``);
    return false;
  }
  const startedAt = new Date();
  const { ctx, entries, cleanup } = createContext(name);
  try {
    await loaded.run(ctx);
  } catch (err) {
    console.error(`[${name}] failed:`, err);
    return false;
  } finally {
    await cleanup();
  }
  const report = {
    name,
    description: loaded.description,
    date: startedAt.toISOString().slice(0, 10),
    started_at: startedAt.toISOString(),
    machine: ctx.machine,
    entries,
  };
  const files = writeReport(report);
  console.log(`\n${markdownTable(report)}`);
  console.log(`written: ${path.relative(ROOT, files.json)}, ${path.relative(ROOT, files.markdown)}\n`);
  return true;
}

async function main(argv: string[]): Promise<number> {
  const all = available();
  if (argv.includes('--list')) {
    console.log(all.join('\n'));
    return 0;
  }
  const unknown = argv.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${all.join(', ')}`);
    return 2;
  }
  const selected = argv.length === 0 ? all : argv;
  let failed = 0;
  for (const name of selected) if (!(await runOne(name))) failed++;
  if (failed > 0) console.error(`${failed} benchmark(s) failed`);
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
