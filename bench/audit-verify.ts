// Audit chain verification throughput, next to raw SHA-256 of the same canonical bytes.
// Run: node bench/audit-verify.ts   (BENCH_EVENTS, BENCH_ROUNDS to change the size)
import { hash } from 'node:crypto';
import os from 'node:os';
import { appendEvent, verifyChain } from '../src/audit/chain.ts';
import type { AuditEvent } from '../src/audit/event.ts';
import { canonicalize } from '../src/audit/jcs.ts';
import { draftAt } from '../src/audit/testdata/events.ts';
import { atLeast, report, row } from './summary.ts';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 200_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CHAIN = 'instance:i-7f3a';

/** Best events/s over the rounds: the figure least disturbed by GC and other processes. */
function best(label: string, run: () => void): number {
  run(); // warm-up
  let fastest = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    run();
    fastest = Math.min(fastest, performance.now() - start);
  }
  const perSecond = (EVENTS * 1000) / fastest;
  console.log(`${label.padEnd(52)} ${Math.round(perSecond).toLocaleString('en-US').padStart(11)} events/s`);
  return perSecond;
}

const built: AuditEvent[] = [];
for (let i = 0; i < EVENTS; i++) built.push(appendEvent(built.at(-1) ?? null, draftAt(CHAIN, i + 1)));
// As the store hands them back: parsed from the JSON text it saved (the JCS form, members sorted).
const stored = built.map((e) => canonicalize(e));
const loaded: AuditEvent[] = stored.map((text) => JSON.parse(text));
const canonical = built.map(({ hash: _, ...rest }) => canonicalize(rest));
const bytes = canonical.reduce((n, s) => n + Buffer.byteLength(s), 0);

console.log(`${EVENTS.toLocaleString('en-US')} events in one chain, ${Math.round(bytes / EVENTS)} canonical bytes each`);
// Figures scale with the machine; the ratio to raw SHA-256 in the same run is the portable one.
const load = os.loadavg()[0]?.toFixed(1);
console.log(`node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model}), load ${load}`);
let sink = 0;
const raw = best('raw SHA-256 of the canonical bytes', () => {
  for (const text of canonical) sink += hash('sha256', text, 'hex').length;
});
const jcs = best('JCS alone (events as loaded from the store)', () => {
  for (const event of loaded) sink += canonicalize(event).length;
});
const verifyLoaded = best('verifyChain, events as loaded from the store', () => {
  const result = verifyChain(loaded);
  if (!result.ok) throw new Error('chain should verify');
});
const verifyBuilt = best('verifyChain, events as built (members unsorted)', () => {
  const result = verifyChain(built);
  if (!result.ok) throw new Error('chain should verify');
});
best('JSON.parse of the stored text + verifyChain', () => {
  const result = verifyChain(stored.map((text) => JSON.parse(text)));
  if (!result.ok) throw new Error('chain should verify');
});

const pct = (x: number) => `${Math.round(x * 100)}%`;
console.log(`verify (loaded) runs at ${pct(verifyLoaded / raw)} of raw SHA-256; built: ${pct(verifyBuilt / raw)}`);
console.log(`JCS alone runs at ${(jcs / raw).toFixed(2)}x raw SHA-256`);
if (sink === 0) console.log('');
report([row('audit chain verify in memory (vs raw SHA-256)', verifyLoaded, '/s', raw, atLeast(500_000, '/s'))]);
