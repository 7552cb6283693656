import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuerAddressRefusal } from './addresses.ts';
import { fetchJson } from './fetch-json.ts';

describe('issuerAddressRefusal', () => {
  it.each([
    ['127.0.0.1', false, 'loopback'],
    ['10.1.2.3', false, 'private'],
    ['::ffff:192.168.1.1', false, 'private'],
    ['169.254.169.254', true, 'link-local'],
    ['::ffff:169.254.169.254', true, 'link-local'],
    ['100.100.100.200', true, 'metadata'],
  ])('refuses %s (allow_loopback %s) as %s', (ip, allow, kind) => {
    expect(issuerAddressRefusal(ip, allow)).toContain(kind);
  });

  it('admits public addresses always, and loopback or private ones only when allowed', () => {
    expect(issuerAddressRefusal('93.184.216.34', false)).toBeNull();
    expect(issuerAddressRefusal('127.0.0.1', true)).toBeNull();
    expect(issuerAddressRefusal('10.1.2.3', true)).toBeNull();
  });
});

describe('fetchJson', () => {
  let server: http.Server;
  let base: string;
  const hits: string[] = [];

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url!);
      if (req.url === '/ok') return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
      if (req.url === '/redirect') return void res.writeHead(302, { location: '/ok' }).end();
      if (req.url === '/big') return void res.writeHead(200).end(`"${'x'.repeat(4096)}"`);
      return void res.writeHead(200).end('<html>');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('reads JSON from a loopback issuer that allows it', async () => {
    expect(await fetchJson(`${base}/ok`, { allowLoopback: true })).toEqual({ keys: [] });
  });

  it('refuses loopback and plain http without allow_loopback before connecting', async () => {
    const before = hits.length;
    await expect(fetchJson(`${base}/ok`, { allowLoopback: false })).rejects.toMatchObject({ code: 'ERR_ISSUER_ADDRESS' });
    await expect(fetchJson(`${base.replace('http:', 'https:')}/ok`, { allowLoopback: false })).rejects.toMatchObject({ code: 'ERR_ISSUER_ADDRESS' });
    expect(hits.length).toBe(before);
  });

  it('refuses a name that resolves to a refused address, checked by its own lookup', async () => {
    const resolver = async () => [{ address: '169.254.169.254', family: 4 }];
    await expect(fetchJson('https://idp.example/keys', { allowLoopback: true, resolver })).rejects.toMatchObject({ code: 'ERR_ISSUER_ADDRESS' });
  });

  it('follows no redirect, and refuses an answer too large or not JSON', async () => {
    await expect(fetchJson(`${base}/redirect`, { allowLoopback: true })).rejects.toMatchObject({ code: 'ERR_ISSUER_UNAVAILABLE', message: expect.stringContaining('answered 302') });
    await expect(fetchJson(`${base}/big`, { allowLoopback: true, maxBytes: 1024 })).rejects.toMatchObject({ code: 'ERR_ISSUER_UNAVAILABLE', message: expect.stringContaining('more than 1024 bytes') });
    await expect(fetchJson(`${base}/html`, { allowLoopback: true })).rejects.toMatchObject({ code: 'ERR_ISSUER_UNAVAILABLE', message: expect.stringContaining('did not answer JSON') });
    expect(hits.filter((h) => h === '/ok')).toHaveLength(1);
  });
});
