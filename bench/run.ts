// Runs every benchmark in bench/ one after another, each in its own Node process, then prints one
// summary table of the figures issue 16 sets targets for and writes it to bench/out/summary.json.
// Run: npm run bench   (or node bench/run.ts [name-filter …]: the benches whose file name contains any)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { printSummary, readRows, SUMMARY_ENV } from './summary.ts';

const dir = import.meta.dirname;
/** Modules here that are not benchmarks. */
const notBenches = new Set([path.basename(import.meta.filename), 'summary.ts', 'profile-top.ts', 'bench-store.ts', 'mcp-load.ts', 'broker-agent.ts']);
const filters = process.argv.slice(2);
const files = fs
  .readdirSync(dir)
  .filter((name) => name.endsWith('.ts') && !notBenches.has(name) && (filters.length === 0 || filters.some((f) => name.includes(f))))
  .sort();

const out = path.join(dir, 'out');
fs.mkdirSync(out, { recursive: true });
// The benches append their rows here as JSON lines; a fresh file, so every row is from this run.
const rowsFile = path.join(out, `rows-${process.pid}.jsonl`);
fs.rmSync(rowsFile, { force: true });

/** One benchmark as its own process, so no JIT state or heap carries from one to the next. */
function run(file: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(dir, file)], { stdio: 'inherit', env: { ...process.env, [SUMMARY_ENV]: rowsFile } });
    child.on('error', () => resolve(1));
    child.on('close', (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

const failed: string[] = [];
for (const file of files) {
  console.log(`\n=== ${file}\n`);
  const started = performance.now();
  const code = await run(file);
  console.log(`\n--- ${file}: ${code === 0 ? 'done' : `exit ${code}`} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (code !== 0) failed.push(file);
}
if (files.length === 0) console.log(filters.length ? `no benchmark matches ${filters.join(' or ')}` : 'no benchmarks');

const rows = readRows(rowsFile);
fs.rmSync(rowsFile, { force: true });
const summaryFile = path.join(out, 'summary.json');
fs.writeFileSync(summaryFile, `${JSON.stringify(rows, null, 2)}\n`);
console.log(`\n=== summary (${rows.length} figures, every one from this run; also in ${path.relative(process.cwd(), summaryFile)})\n`);
printSummary(rows);
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
