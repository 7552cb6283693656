import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { tempDir } from './harness.ts';

/**
 * Real receivers for trail sinks, started by the tests on loopback: rsyslog from Debian's
 * packages (plain TCP and TLS through the gtls driver), a NATS server with JetStream, and an
 * HTTP receiver. Each can be stopped and started again on the same port and data.
 */
export const RSYSLOGD = '/usr/sbin/rsyslogd';
export const NATS_SERVER = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => fs.existsSync(p));

/**
 * The receivers these tests start are Debian's packages (`.ci/run` installs them). Without them a
 * local run skips those tests; under CI (CI=true) they must run.
 */
export function requireReceiver(present: boolean, what: string): boolean {
  if (!present && process.env.CI === 'true') throw new Error(`the trail sink tests need ${what} (apt-get install rsyslog rsyslog-gnutls nats-server)`);
  return present;
}
export const HAVE_RSYSLOG = fs.existsSync(RSYSLOGD);

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function until(what: string, probe: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });

export interface Certificates {
  dir: string;
  ca: string;
  /** A CA that signed nothing here: a sink trusting it must refuse the receiver. */
  otherCa: string;
  serverCert: string;
  serverKey: string;
}

/** A CA and a server certificate for 127.0.0.1 / localhost, made with the openssl CLI. */
export function makeCertificates(): Certificates {
  const dir = tempDir('mandate-certs-');
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', `/CN=Mandate test ${ca}`, '-keyout', `${ca}-key.pem`, '-out', `${ca}.pem`);
  }
  openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server-key.pem', '-out', 'server.csr');
  fs.writeFileSync(file('san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-days', '2', '-extfile', 'san.ext', '-out', 'server.pem');
  const read = (name: string) => fs.readFileSync(file(name), 'utf8');
  return { dir, ca: read('ca.pem'), otherCa: read('other-ca.pem'), serverCert: file('server.pem'), serverKey: file('server-key.pem') };
}

export interface Rsyslog {
  port: number;
  /** Every message written so far (RFC 5424, one per line). */
  lines(): string[];
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
}

/** rsyslogd in the foreground, unprivileged, with imtcp (and gtls for TLS) writing every message to a file. */
export async function startRsyslog(options: { tls?: Certificates } = {}): Promise<Rsyslog> {
  const dir = tempDir('mandate-rsyslog-');
  const port = await freePort();
  const out = path.join(dir, 'messages.log');
  const tls = options.tls;
  fs.writeFileSync(path.join(dir, 'ca.pem'), tls?.ca ?? '');
  const conf = [
    tls
      ? `global(workDirectory="${dir}" maxMessageSize="64k" DefaultNetstreamDriver="gtls" DefaultNetstreamDriverCAFile="${path.join(dir, 'ca.pem')}" DefaultNetstreamDriverCertFile="${tls.serverCert}" DefaultNetstreamDriverKeyFile="${tls.serverKey}")`
      : `global(workDirectory="${dir}" maxMessageSize="64k")`,
    tls ? 'module(load="imtcp" StreamDriver.Name="gtls" StreamDriver.Mode="1" StreamDriver.AuthMode="anon")' : 'module(load="imtcp")',
    'template(name="raw" type="string" string="%rawmsg%\\n")',
    `ruleset(name="trail") { action(type="omfile" file="${out}" template="raw" flushOnTXEnd="on" asyncWriting="off") }`,
    `input(type="imtcp" port="${port}" ruleset="trail")`,
  ].join('\n');
  const confFile = path.join(dir, 'rsyslog.conf');
  fs.writeFileSync(confFile, `${conf}\n`);
  let child: ChildProcess | undefined;
  const receiver: Rsyslog = {
    port,
    lines: () => (fs.existsSync(out) ? fs.readFileSync(out, 'utf8').split('\n').filter(Boolean) : []),
    start: async () => {
      child = spawn(RSYSLOGD, ['-n', '-f', confFile, '-i', path.join(dir, 'rsyslogd.pid')], { stdio: 'ignore' });
      await until(`rsyslogd on ${port}`, () => listening(port));
    },
    stop: async (signal = 'SIGTERM') => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill(signal);
      });
    },
  };
  await receiver.start();
  return receiver;
}

export interface NatsServer {
  url: string;
  port: number;
  stop(signal?: NodeJS.Signals): Promise<void>;
  start(): Promise<void>;
}

/** A NATS server of its own with JetStream on a file store that survives a restart. */
export async function startNats(): Promise<NatsServer> {
  if (!NATS_SERVER) throw new Error('no nats-server binary');
  const dir = tempDir('mandate-nats-');
  const port = await freePort();
  let child: ChildProcess | undefined;
  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    start: async () => {
      child = spawn(NATS_SERVER, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
      await until(`nats-server on ${port}`, () => listening(port));
    },
    stop: async (signal = 'SIGTERM') => {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill(signal);
      });
    },
  };
  await server.start();
  return server;
}

export interface HttpReceiver {
  url: string;
  requests: Array<{ path: string; headers: http.IncomingHttpHeaders; body: string }>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

/** An HTTP receiver that records every request and answers 200; stoppable and restartable on its port. */
export async function startHttpReceiver(): Promise<HttpReceiver> {
  const port = await freePort();
  const requests: HttpReceiver['requests'] = [];
  let server: http.Server | undefined;
  const receiver: HttpReceiver = {
    url: `http://127.0.0.1:${port}`,
    requests,
    start: async () => {
      server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        req.on('end', () => {
          requests.push({ path: req.url ?? '', headers: req.headers, body });
          res.end('{}');
        });
      });
      await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    },
    stop: async () => {
      const running = server;
      server = undefined;
      if (!running) return;
      running.closeAllConnections();
      await new Promise<void>((resolve) => running.close(() => resolve()));
    },
  };
  await receiver.start();
  return receiver;
}
