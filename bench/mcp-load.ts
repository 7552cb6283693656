// Not a bench: the MCP load the gateway benches share.
import { performance } from 'node:perf_hooks';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';

/** Each client calls `echo` back to back for `seconds` after one warm-up call; calls/s and failures. Closes the clients. */
export async function echoLoad(clients: Client[], seconds: number): Promise<{ rate: number; failed: number; secs: number }> {
  for (const c of clients) await c.callTool({ name: 'echo', arguments: { message: 'warm' } });
  let done = 0;
  let failed = 0;
  const started = performance.now();
  const until = started + seconds * 1000;
  await Promise.all(
    clients.map(async (c) => {
      while (performance.now() < until) {
        const r = await c.callTool({ name: 'echo', arguments: { message: 'x' } }).catch(() => ({ isError: true }));
        if (r.isError) failed++;
        else done++;
      }
    }),
  );
  const secs = (performance.now() - started) / 1000;
  await Promise.all(clients.map((c) => c.close()));
  return { rate: done / secs, failed, secs };
}
