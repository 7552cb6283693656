// Runs every benchmark in bench/ (except this file) one after another, each in its own Node process.
// Run: npm run bench   (or node bench/run.ts [name-filter])
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const dir = import.meta.dirname;
const self = path.basename(import.meta.filename);
const filter = process.argv[2];
const files = fs
  .readdirSync(dir)
  .filter((name) => name.endsWith('.ts') && name !== self && (!filter || name.includes(filter)))
  .sort();

/** One benchmark as its own process, so no JIT state or heap carries from one to the next. */
function run(file: string): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(dir, file)], { stdio: 'inherit', env: process.env });
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
if (files.length === 0) console.log(filter ? `no benchmark matches ${filter}` : 'no benchmarks');
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exitCode = 1;
}
