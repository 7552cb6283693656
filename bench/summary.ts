// The figures issue 16 sets targets for, one row each: what Mandate did, the baseline taken in the
// same run, their ratio, the target and whether it was met. A bench reports its rows here; under
// bench/run.ts they go as JSON lines to the file named by MANDATE_BENCH_SUMMARY and run.ts prints
// one table at the end, run alone a bench prints its own.
import fs from 'node:fs';

export interface SummaryRow {
  figure: string;
  value: number;
  unit: string;
  /** The same kind of figure without Mandate (or the machine's limit), measured in the same run. */
  baseline: number | null;
  /** value / baseline. */
  ratio: number | null;
  /** The issue's target in words, or null for a figure reported for context only. */
  target: string | null;
  met: boolean | null;
}

/** A target: its words and the check against a row's value and ratio. */
export interface Target {
  text: string;
  met(value: number, baseline: number | null, ratio: number | null): boolean;
}

const num = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 3 });

export const atMost = (limit: number, unit: string): Target => ({ text: `≤ ${num(limit)} ${unit}`, met: (value) => value <= limit });
export const atLeast = (limit: number, unit: string): Target => ({ text: `≥ ${num(limit)} ${unit}`, met: (value) => value >= limit });
/** For latencies: Mandate's figure minus the baseline's. */
export const addedAtMost = (limit: number, unit: string): Target => ({
  text: `added ≤ ${num(limit)} ${unit}`,
  met: (value, baseline) => baseline !== null && value - baseline <= limit,
});
export const ratioAtLeast = (limit: number): Target => ({
  text: `ratio ≥ ${num(limit)}`,
  met: (_value, _baseline, ratio) => ratio !== null && ratio >= limit,
});
/** Met when either target is (the issue's "≥ 4,000/s or ≥ 50% of direct"). */
export const either = (a: Target, b: Target): Target => ({
  text: `${a.text} or ${b.text}`,
  met: (value, baseline, ratio) => a.met(value, baseline, ratio) || b.met(value, baseline, ratio),
});

export function row(figure: string, value: number, unit: string, baseline: number | null, target: Target | null): SummaryRow {
  const ratio = baseline === null || baseline === 0 || !Number.isFinite(baseline) ? null : value / baseline;
  const finite = Number.isFinite(value);
  return { figure, value, unit, baseline, ratio, target: target?.text ?? null, met: target ? finite && target.met(value, baseline, ratio) : null };
}

export const SUMMARY_ENV = 'MANDATE_BENCH_SUMMARY';

/** Hand rows to bench/run.ts, or print them when this bench runs alone. */
export function report(rows: SummaryRow[]): void {
  const file = process.env[SUMMARY_ENV];
  if (file) fs.appendFileSync(file, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
  else printSummary(rows);
}

export function readRows(file: string): SummaryRow[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SummaryRow);
}

const figure = (n: number | null, unit = '') => {
  if (n === null || !Number.isFinite(n)) return '—';
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return `${n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit ? ` ${unit}` : ''}`;
};

export function printSummary(rows: SummaryRow[]): void {
  const header = ['figure', 'Mandate', 'baseline', 'ratio', 'target', 'met'];
  const cells = rows.map((r) => [
    r.figure,
    figure(r.value, r.unit),
    figure(r.baseline, r.unit),
    r.ratio === null ? '—' : `${r.ratio.toFixed(r.ratio >= 10 ? 1 : r.ratio >= 0.1 ? 2 : 3)}×`,
    r.target ?? '—',
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const right = new Set([1, 2, 3]);
  const line = (c: string[]) => c.map((s, i) => (right.has(i) ? s.padStart(widths[i]!) : s.padEnd(widths[i]!))).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
  const judged = rows.filter((r) => r.met !== null);
  console.log(judged.length ? `\n${judged.filter((r) => r.met).length} of ${judged.length} targets met` : '\nno targets among these figures');
}
