import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config/schema.ts';
import { startServer } from '../src/server/serve.ts';
import { dialects, dropSchema, PG_URL, readJson, tempDir, uniqueSchema } from './harness.ts';
import { startRsyslog } from './trail-receivers.kit.ts';
import { until } from './trail-stream.kit.ts';

/** A running server streams its own trail; a sink's trouble shows in the API, /metrics and /readyz. */
describe.each(await dialects())('a running server streams its trail and shows each sink’s health (%s)', { timeout: 60_000 }, (dialect) => {
  it('streams admin events to rsyslog; a receiver that is down shows in the API, /metrics and /readyz (degraded, still ready)', async () => {
    const place = { dataDir: tempDir(), schema: dialect === 'postgres' ? uniqueSchema() : undefined };
    const config = loadConfig({ dataDir: place.dataDir, port: 0, logLevel: 'silent', authFailureLimit: 0, ...(dialect === 'postgres' ? { databaseUrl: PG_URL } : {}) }, {});
    const server = await startServer(config, { logger: pino({ level: 'silent' }), ...(place.schema ? { pgSchema: place.schema } : {}) });
    const token = server.adminToken!;
    const api = (method: string, route: string, body?: unknown) =>
      fetch(`${server.url}${route}`, { method, headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const rsyslog = await startRsyslog();
    try {
      const added = await api('POST', '/v1/trail/sinks', { name: 'soc', kind: 'syslog-tcp', format: 'cef', from: 'start', settings: { address: `127.0.0.1:${rsyslog.port}` } });
      expect(added.status, await added.clone().text()).toBe(201);
      // The sink's own creation is in the trail it streams.
      await until('admin.trail_sink_added at rsyslog', () => rsyslog.lines().some((l) => l.includes('admin.trail_sink_added') && l.includes('CEF:0|Mandate|Mandate|')));
      expect((await readJson(await fetch(`${server.url}/readyz`))).status).toBe('ready');

      await rsyslog.stop();
      await api('POST', '/v1/keys/rotate', {});
      await until('a failure', async () => (await readJson(await api('GET', '/v1/trail/sinks/soc'))).failures > 0);
      const ready = await fetch(`${server.url}/readyz`);
      expect(ready.status).toBe(200);
      expect(await readJson(ready)).toMatchObject({ status: 'degraded', degraded: [{ trail_sink: 'soc' }] });
      const view = await readJson(await api('GET', '/v1/trail/sinks/soc'));
      expect(view.lag.events).toBeGreaterThan(0);
      expect(view.last_error).toMatch(/could not be reached/);
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      expect(metrics).toMatch(/mandate_trail_sink_lag_events\{sink="soc"\} [1-9]/);
      expect(metrics).toMatch(/mandate_trail_sink_lag_seconds\{sink="soc"\} /);
      expect(metrics).toMatch(/mandate_trail_sink_delivered_total\{sink="soc"\} [1-9]/);
      expect(metrics).toMatch(/mandate_trail_sink_errors_total\{sink="soc"\} [1-9]/);

      await rsyslog.start();
      await until('admin.key_rotated at rsyslog', () => rsyslog.lines().some((l) => l.includes('admin.key_rotated')), 40_000);
      await until('ready again', async () => (await readJson(await fetch(`${server.url}/readyz`))).status === 'ready');
    } finally {
      await server.close();
      await rsyslog.stop();
      if (place.schema) await dropSchema(place.schema);
    }
  });
});
