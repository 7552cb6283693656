import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './harness.ts';
import { startIdp, type TestIdp } from './idp.kit.ts';

const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

describe('mandate issuer', () => {
  let server: TestServer;
  let idp: TestIdp;
  let env: NodeJS.ProcessEnv;
  const mandate = (args: string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    });

  beforeAll(async () => {
    idp = await startIdp();
    await idp.addKey('RS256');
    server = await startTestServer('sqlite');
    env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_ADDR: server.url, MANDATE_TOKEN: server.token, MANDATE_CONFIG: path.join(server.dataDir, 'none.json') };
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  it('adds an issuer by discovery, lists, shows and removes it', async () => {
    const add = await mandate(['issuer', 'add', idp.issuer, '--allow-loopback', '--audience', 'mandate-prod,mandate-dev', '--alg', 'RS256', '--subject-claim', 'oid', '--attribute', 'department']);
    expect(add, add.stderr).toMatchObject({ code: 0 });
    expect(add.stdout).toContain(`trusted issuer ${idp.issuer}: keys discovery ${idp.jwksUri}`);

    const list = await mandate(['issuer', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/ISSUER\s+KEYS\s+AUDIENCES\s+ALGORITHMS/);
    expect(list.stdout).toContain('mandate-prod,mandate-dev');

    const show = await mandate(['issuer', 'show', idp.issuer]);
    expect(show.stdout).toMatch(/subject claim\s+oid/);
    expect(show.stdout).toMatch(/attributes\s+department/);
    expect(show.stdout).toMatch(/allow loopback\s+yes/);
    const json = JSON.parse((await mandate(['--json', 'issuer', 'show', idp.issuer])).stdout);
    expect(json).toMatchObject({ issuer: idp.issuer, source: 'discovery', algorithms: ['RS256'], claims: { subject: 'oid', email: 'email', groups: 'groups' } });

    expect((await mandate(['issuer', 'remove', idp.issuer])).stdout).toContain(`removed issuer ${idp.issuer}`);
    const again = await mandate(['issuer', 'show', idp.issuer]);
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain('ERR_ISSUER_NOT_FOUND');
    expect(server.audit.ofType('admin.issuer_added')).toHaveLength(1);
    expect(server.audit.ofType('admin.issuer_removed')).toHaveLength(1);
  });

  it('refuses an issuer on loopback without --allow-loopback, and takes inline keys from a file', async () => {
    const refused = await mandate(['issuer', 'add', idp.issuer.replace('http:', 'https:')]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ERR_ISSUER_ADDRESS');
    const file = path.join(server.dataDir, 'jwks.json');
    fs.writeFileSync(file, await (await fetch(idp.jwksUri)).text());
    const inline = await mandate(['issuer', 'add', 'https://idp.corp.example', '--jwks-file', file]);
    expect(inline, inline.stderr).toMatchObject({ code: 0 });
    expect(inline.stdout).toContain('trusted issuer https://idp.corp.example: keys inline (rs256-1)');
  });
});
