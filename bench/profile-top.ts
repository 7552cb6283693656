// Reads V8 CPU profiles (`node --cpu-prof`, .cpuprofile files) and prints the top frames by self
// time and by inclusive time, and self time summed per package or source folder, as shares of the
// busy time (every sample but `(idle)`: CPU time, not wall time). Several files are summed, so the
// profiles of all replicas of one run read as one.
// Run: node bench/profile-top.ts <file.cpuprofile | dir> … [--top 25] [--match regex …] [--within regex]
//   --match: also print the inclusive share of the frames whose "function file:line" matches the regex.
//   --within: count only the samples with such a frame on their stack (one code path's own profile);
//             the shares stay of the whole busy time.
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    top: { type: 'string', default: '25' },
    match: { type: 'string', multiple: true, default: [] },
    within: { type: 'string' },
  },
});
const TOP = Number(values.top);
const files = positionals.flatMap((p) =>
  fs.statSync(p).isDirectory()
    ? fs.readdirSync(p).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(p, f))
    : [p],
);
if (files.length === 0) {
  console.error('usage: node bench/profile-top.ts <file.cpuprofile | dir> … [--top 25] [--match regex …] [--within regex]');
  process.exit(2);
}

const root = process.cwd();
/** A file as the reader knows it: relative to the working directory, node internals as node:… */
const where = (url: string) => {
  if (!url) return '';
  const file = url.startsWith('file://') ? new URL(url).pathname : url;
  return file.startsWith(`${root}/`) ? file.slice(root.length + 1) : file;
};
/** Lines in a profile count from 0. */
const frameKey = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${where(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
/** The package (node_modules/<name>), the source folder (src/<folder>), node internals, or the VM's own entries. */
const groupOf = (f: CallFrame) => {
  const file = where(f.url);
  if (!file) return f.functionName; // (program), (garbage collector), (idle), (root)
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file);
  if (pkg) return pkg[1]!;
  if (file.startsWith('node:')) return 'node: internals';
  const src = /^(src|bench|test)\/([^/]+)\//.exec(file);
  if (src) return `${src[1]}/${src[2]}`;
  return file;
};

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const groups = new Map<string, number>();
const within = values.within === undefined ? null : new RegExp(values.within);
const matches = values.match.map((m) => ({ text: m, re: new RegExp(m), us: 0 }));
let total = 0;
let idle = 0;

for (const file of files) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  /** Each node's stack as distinct frame keys (a recursive frame counts once). */
  const stacks = new Map<number, string[]>();
  const stackOf = (id: number): string[] => {
    let stack = stacks.get(id);
    if (stack) return stack;
    const keys = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) keys.add(frameKey(byId.get(at)!.callFrame));
    stack = [...keys];
    stacks.set(id, stack);
    return stack;
  };
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    const frame = byId.get(id)!.callFrame;
    total += us;
    if (frame.functionName === '(idle)') {
      idle += us;
      return;
    }
    const stack = stackOf(id);
    if (within && !stack.some((k) => within.test(k))) return;
    const key = frameKey(frame);
    self.set(key, (self.get(key) ?? 0) + us);
    const group = groupOf(frame);
    groups.set(group, (groups.get(group) ?? 0) + us);
    for (const k of stack) inclusive.set(k, (inclusive.get(k) ?? 0) + us);
    for (const m of matches) if (stack.some((k) => m.re.test(k))) m.us += us;
  });
}

const busy = total - idle;
const pct = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const table = (title: string, entries: Map<string, number>) => {
  console.log(`\n${title}`);
  for (const [key, us] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, TOP)) console.log(`  ${pct(us)} ${ms(us)}  ${key}`);
};

console.log(`${files.length} profile(s): ${(total / 1000).toFixed(0)} ms sampled, ${(idle / 1000).toFixed(0)} ms idle, ${(busy / 1000).toFixed(0)} ms busy (the shares below are of busy time)`);
if (within) console.log(`only the samples with a frame matching /${within.source}/ on their stack: ${ms([...groups.values()].reduce((a, b) => a + b, 0))}`);
table('self time by package or source folder', groups);
table('self time by function', self);
const skip = /^\((root|program)\)/;
table('inclusive time by function', new Map([...inclusive].filter(([k]) => !skip.test(k))));
if (matches.length > 0) {
  console.log('\ninclusive time of the frames matching');
  for (const m of matches) console.log(`  ${pct(m.us)} ${ms(m.us)}  /${m.text}/`);
}
