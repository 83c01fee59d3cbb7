// Writes one benchmark's results as bench/results/<name>-<YYYY-MM-DD>.json and .md
// (a later run on the same day replaces them).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { MachineInfo } from './machine.ts';
import { ROOT } from './server.ts';

export const RESULTS_DIR = path.join(ROOT, 'bench/results');

export interface BenchEntry {
  /** What was measured, e.g. `GET /health/live` or `Decimal add`. */
  name: string;
  /**
   * `ratio`: a dimensionless comparison of two rows measured in the same run (e.g. exact ÷ float time);
   * `ms`: a duration (the throughput column holds the worst one, e.g. the longest event-loop stall).
   */
  unit: 'req/s' | 'ops/s' | 'msg/s' | 'ratio' | 'ms';
  throughput: number;
  p50_ms: number;
  p99_ms: number;
  /** Anything a reader needs to interpret the row (connections, expected status, sizes). */
  notes?: string;
  details?: Record<string, unknown>;
}

export interface BenchReport {
  name: string;
  description: string;
  date: string;
  started_at: string;
  machine: MachineInfo;
  entries: BenchEntry[];
}

export function markdownTable(report: BenchReport): string {
  const m = report.machine;
  const lines = [
    `# ${report.name} — ${report.date}`,
    '',
    report.description,
    '',
    `Machine: ${m.cpu}, ${m.cores} cores, ${m.memory_gib} GiB, Node ${m.node}, ${m.platform}; load average ${m.load_average_1m} at start. Started ${report.started_at}.`,
    '',
    '| entry | throughput | p50 (ms) | p99 (ms) | notes |',
    '|---|---:|---:|---:|---|',
    ...report.entries.map(
      (e) => `| ${e.name} | ${e.throughput.toLocaleString('en-US')} ${e.unit} | ${e.p50_ms} | ${e.p99_ms} | ${e.notes ?? ''} |`,
    ),
    '',
  ];
  return lines.join('\n');
}

export function writeReport(report: BenchReport): { json: string; markdown: string } {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const base = path.join(RESULTS_DIR, `${report.name}-${report.date}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${base}.md`, markdownTable(report));
  return { json: `${base}.json`, markdown: `${base}.md` };
}
