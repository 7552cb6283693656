import fs from 'node:fs';

/**
 * A stdio bridge must not outlive the client that launched it. Closing stdin is the usual
 * signal, but a client that dies without closing it (or whose pipe another process still holds)
 * leaves the bridge orphaned. So the bridge also watches its parent and, when that parent is only
 * a launcher (`npx`/`npm exec`, a shell running `sh -c`), the launcher's parents up to the real
 * client: when any of them ends, the bridge ends. On Linux each watched process is recognized by
 * its pid and start time (/proc), so a reused pid is not mistaken for the parent; elsewhere the
 * bridge notices that it was re-parented.
 */
interface Watched {
  pid: number;
  start: string | undefined;
}

const LAUNCHERS = /^(sh|bash|dash|zsh|ksh|fish|npm|npx|pnpm|yarn|bunx)\b/;

function stat(pid: number): { ppid: number; start: string; comm: string } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const fields = text.slice(close + 2).split(' ');
    return { comm: text.slice(text.indexOf('(') + 1, close), ppid: Number(fields[1]), start: fields[19]! };
  } catch {
    return undefined;
  }
}

function isLauncher(pid: number, comm: string): boolean {
  if (LAUNCHERS.test(comm)) return true;
  try {
    const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return LAUNCHERS.test(argv[0]?.split('/').pop() ?? '') || /\/(npm|npx|pnpm|yarn)(-cli)?(\.c?js)?$/.test(argv[1] ?? '');
  } catch {
    return false;
  }
}

/** The parent, then each launcher's parent in turn (at most `depth` processes, never pid 1). */
export function watchedAncestors(depth = 5): Watched[] {
  const chain: Watched[] = [];
  let pid = process.ppid;
  while (pid > 1 && chain.length < depth) {
    const info = stat(pid);
    chain.push({ pid, start: info?.start });
    if (!info || !isLauncher(pid, info.comm)) break;
    pid = info.ppid;
  }
  return chain;
}

function alive({ pid, start }: Watched): boolean {
  if (start !== undefined) return stat(pid)?.start === start;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Calls `onGone` once when the parent (or a launcher's parent) ends; returns a stop function. */
export function watchParent(onGone: (pid: number) => void, everyMs = 1000): () => void {
  const firstParent = process.ppid;
  const chain = watchedAncestors();
  const timer = setInterval(() => {
    const gone = process.ppid !== firstParent ? firstParent : chain.find((w) => !alive(w))?.pid;
    if (gone !== undefined) {
      clearInterval(timer);
      onGone(gone);
    }
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
