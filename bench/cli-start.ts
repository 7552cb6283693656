// How fast the CLI starts: `mandate --help`, and `mandate agent list` against a running server
// (loopback, admin token in MANDATE_TOKEN), wall time from spawn to exit, next to `node -e 0`
// (the floor: starting Node at all) measured in the same run, interleaved run by run.
// Run: node bench/cli-start.ts   (BENCH_RUNS, default 10)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config/schema.ts';
import { startServer } from '../src/server/serve.ts';
import { atMost, report, row } from './summary.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

/**
 * Wall ms from spawn to exit. A non-zero exit, or output without `expect`, is an error: a CLI
 * that fails fast proves nothing.
 */
function wall(args: string[], env: NodeJS.ProcessEnv, expect = ''): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const ms = performance.now() - started;
      if (code === 0 && stdout.includes(expect)) resolve(ms);
      else reject(new Error(`${args.join(' ')} exited ${code} without ${JSON.stringify(expect)}: ${(stderr || stdout).slice(0, 300)}`));
    });
  });
}

const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mandate-bench-cli-'));
const server = await startServer(loadConfig({ dataDir, port: 0, logLevel: 'silent' }, {}), { logger: pino({ level: 'silent' }) });
try {
  await fetch(`${server.url}/v1/agents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'bench-bot', name: 'Bench', owner: 'alice@example.com', code_hashes: [`sha256:${'c0de'.repeat(16)}`], toolset: ['tool:github/*'] }),
  });
  // Only what a user's shell would have: no config file found, the server named by env.
  const env = { PATH: process.env.PATH, HOME: dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.adminToken, MANDATE_CONFIG: path.join(dataDir, 'none.json') };
  // Each with what its output must show: the usage, and the agent registered above.
  const commands: Record<string, [string[], string]> = {
    'node -e 0': [['-e', '0'], ''],
    'mandate --help': [[BIN, '--help'], 'Usage'],
    'mandate agent list': [[BIN, 'agent', 'list'], 'bench-bot'],
  };
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(commands).map((k) => [k, []]));
  for (const [args, expect] of Object.values(commands)) await wall(args, env, expect); // warm the file cache
  for (let i = 0; i < RUNS; i++) for (const [name, [args, expect]] of Object.entries(commands)) samples[name]!.push(await wall(args, env, expect));
  console.log(`CLI start, Node ${process.version}, ${os.cpus().length} CPU(s), load average ${os.loadavg()[0]!.toFixed(1)}, ${RUNS} runs each (wall ms)`);
  for (const [name, list] of Object.entries(samples)) {
    const sorted = [...list].sort((a, b) => a - b);
    console.log(`  ${name.padEnd(20)} median ${median(list).toFixed(0).padStart(5)}  min ${sorted[0]!.toFixed(0).padStart(5)}  max ${sorted.at(-1)!.toFixed(0).padStart(5)}`);
  }
  const floor = median(samples['node -e 0']!);
  report([
    row(`mandate --help wall, median of ${RUNS} (vs node -e 0)`, median(samples['mandate --help']!), 'ms', floor, atMost(300, 'ms')),
    row(`mandate agent list wall, median of ${RUNS} (vs node -e 0)`, median(samples['mandate agent list']!), 'ms', floor, atMost(300, 'ms')),
  ]);
} finally {
  await server.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}
