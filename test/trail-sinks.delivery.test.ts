import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { trailSinksRepository } from '../src/store/repositories/trail-sinks.ts';
import { addTrailSink, getTrailSink } from '../src/stream/sinks.ts';
import { dialects, openTestStore, type TestStore } from './harness.ts';
import { type Certificates, HAVE_RSYSLOG, makeCertificates, requireReceiver, startRsyslog } from './trail-receivers.kit.ts';
import { CHAINS, expectComplete, fromSyslog, master, streamerFor, streamThroughRestart, until } from './trail-stream.kit.ts';

/**
 * Every event reaches rsyslog (Debian's package, started here) while it is killed and started
 * again mid-stream: over TCP with octet counting and over TLS with its certificate verified.
 */
describe.runIf(requireReceiver(HAVE_RSYSLOG, 'rsyslogd')).each(await dialects())('trail sinks deliver every event to rsyslog through restarts (%s)', { timeout: 60_000 }, (dialect) => {
  let t: TestStore;
  let certs: Certificates;
  beforeAll(async () => {
    t = await openTestStore(dialect);
    certs = makeCertificates();
  });
  afterAll(() => t.cleanup());

  /** rsyslog writes what it took a moment later: wait until the file holds everything, then check it. */
  const settled = async (lines: () => string[]) => {
    await until('rsyslog wrote everything', async () => (await expectComplete(t, fromSyslog(lines())).catch(() => null)) !== null, 5000).catch(() => {});
    return expectComplete(t, fromSyslog(lines()));
  };

  it('over TCP (RFC 6587 octet counting), rsyslog killed and restarted', async () => {
    const rsyslog = await startRsyslog();
    try {
      await streamThroughRestart(t, { name: 'rsyslog-tcp', kind: 'syslog-tcp', settings: { address: `127.0.0.1:${rsyslog.port}`, hostname: 'mandate-test' } }, rsyslog, 'SIGKILL');
      const { events } = await settled(rsyslog.lines);
      expect(events).toBeGreaterThanOrEqual(12 * 25 * CHAINS);
      expect(rsyslog.lines()[0]).toMatch(/^<110>1 \S+Z mandate-test mandate - tool\.decision \[mandate@32473 id="/);
    } finally {
      await rsyslog.stop();
    }
  });

  it('over TLS (RFC 5425) with the certificate verified against the CA given, rsyslog stopped and restarted', async () => {
    const rsyslog = await startRsyslog({ tls: certs });
    try {
      await streamThroughRestart(t, { name: 'rsyslog-tls', kind: 'syslog-tls', settings: { address: `127.0.0.1:${rsyslog.port}`, ca: certs.ca } }, rsyslog);
      await settled(rsyslog.lines);
    } finally {
      await rsyslog.stop();
    }
  });

  it('refuses a TLS receiver whose certificate its CA did not sign, and sends it nothing', async () => {
    const rsyslog = await startRsyslog({ tls: certs });
    const streamer = streamerFor(t);
    try {
      await addTrailSink(t.store.db, master, { name: 'rsyslog-wrong-ca', kind: 'syslog-tls', format: 'jsonl', events: [], environments: [], from: 'start', settings: { address: `127.0.0.1:${rsyslog.port}`, ca: certs.otherCa } }, new Date());
      streamer.start();
      await until('a failure', async () => (await getTrailSink(t.store.db, 'rsyslog-wrong-ca', new Date())).failures > 0);
      const view = await getTrailSink(t.store.db, 'rsyslog-wrong-ca', new Date());
      expect(view.last_error).toMatch(/TLS certificate was not accepted/);
      expect(view.delivered).toBe(0);
      expect(view.lag.events).toBeGreaterThan(0);
      expect(rsyslog.lines()).toEqual([]);
    } finally {
      await streamer.stop();
      await trailSinksRepository(t.store.db).remove('rsyslog-wrong-ca');
      await rsyslog.stop();
    }
  });
});
