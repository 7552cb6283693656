import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestServer, tempDir, type TestServer } from './harness.ts';
import { approveDevice, MANDATE_CLIENT, providerAddress, signIn, startTestProvider, type TestProvider } from './oidc-provider.ts';

/** `mandate login` and `mandate logout` against a live server and a real OpenID provider, the browser played by fetch. */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');

describe('mandate login and logout', { timeout: 90_000 }, () => {
  let idp: TestProvider;
  let server: TestServer;
  let configFile: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    const address = await providerAddress();
    server = await startTestServer('sqlite', {
      config: { ssoIssuer: address.issuer, ssoClientId: MANDATE_CLIENT.client_id, ssoClientSecret: MANDATE_CLIENT.client_secret, ssoRoleMap: 'mandate-approvers=approver:prod' },
    });
    idp = startTestProvider(address, { ada: { email: 'ada@example.com', name: 'Ada', groups: ['mandate-approvers'] }, bob: { email: 'bob@example.com', name: 'Bob', groups: [] } }, [`${server.url}/v1/login/callback`]);
    configFile = path.join(tempDir(), 'cli.json');
    env = { PATH: process.env.PATH, HOME: server.dataDir, MANDATE_CONFIG: configFile, MANDATE_ADDR: server.url };
  });
  afterAll(async () => {
    await server?.close();
    await idp?.close();
  });

  /** Run `mandate <args>`; while it waits, sign in as `account` where it says to, like a browser would. */
  function mandate(args: string[], account?: string) {
    return new Promise<{ code: number | null; stdout: string; stderr: string; page?: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let page: Promise<string> | undefined;
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk;
        const device = /\(or open (\S+)\)/.exec(stderr)?.[1];
        if (device && account && !page) {
          page = approveDevice(device, account);
          page.catch(reject);
        }
        const url = /Sign in at:\n\s+(\S+)/.exec(stderr)?.[1];
        if (url && account && !page) {
          page = (async () => {
            const landed = await signIn(url, account, `${server.url}/v1/login/callback`);
            const answered = await fetch(landed, { redirect: 'manual' });
            return (await fetch(answered.headers.get('location')!)).text();
          })();
          page.catch(reject);
        }
      });
      child.on('error', reject);
      child.on('close', async (code) => resolve({ code, stdout, stderr, ...(page ? { page: await page } : {}) }));
    });
  }

  it('signs an operator in through the provider, keeps the session 0600, and uses it until logout revokes it', async () => {
    const login = await mandate(['login', '--no-browser'], 'ada');
    expect(login.code, login.stderr).toBe(0);
    expect(login.stdout).toMatch(/^signed in as ada with roles approver:prod until \S+/);
    expect(login.page).toContain('Signed in to Mandate');
    expect(fs.statSync(configFile).mode & 0o777).toBe(0o600);
    const stored = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    expect(stored.session).toMatchObject({ operator: 'ada', roles: ['approver:prod'], token: expect.stringMatching(/^mdt_/) });

    const list = await mandate(['--json', 'token', 'list']);
    expect(list.code, list.stderr).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([expect.objectContaining({ id: stored.session.id, operator: 'ada', status: 'active' })]);

    const logout = await mandate(['logout']);
    expect(logout.code, logout.stderr).toBe(0);
    expect(logout.stdout).toContain(`signed out ada; session ${stored.session.id} revoked`);
    expect(JSON.parse(fs.readFileSync(configFile, 'utf8')).session).toBeUndefined();
    const tokens = await readJson(await server.api('GET', '/v1/tokens'));
    expect(tokens.tokens.find((t: { id: string }) => t.id === stored.session.id).status).toBe('revoked');
    expect((await server.api('GET', '/v1/approvals', undefined, { authorization: `Bearer ${stored.session.token}` })).status).toBe(401);
  });

  it('reports a refused sign-in with its code and stores nothing', async () => {
    fs.rmSync(configFile, { force: true });
    const login = await mandate(['login', '--no-browser'], 'bob');
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('(ERR_LOGIN_NO_ROLE)');
    expect(fs.existsSync(configFile)).toBe(false);
  });

  it('signs an operator in with --device: prints the code and URL, polls until the provider approved', async () => {
    fs.rmSync(configFile, { force: true });
    const login = await mandate(['login', '--device'], 'ada');
    expect(login.code, login.stderr).toBe(0);
    expect(login.stderr).toMatch(/To sign in, open:\n\s+http:\S+\/device\nand enter the code: \S+/);
    expect(login.page).toContain('Sign-in Success');
    expect(login.stdout).toMatch(/^signed in as ada with roles approver:prod until \S+/);
    const stored = JSON.parse(fs.readFileSync(configFile, 'utf8'));
    expect((await server.api('GET', '/v1/approvals', undefined, { authorization: `Bearer ${stored.session.token}` })).status).toBe(200);
  });

  it('reports a refused device sign-in with its code and stores nothing', async () => {
    fs.rmSync(configFile, { force: true });
    const login = await mandate(['login', '--device'], 'bob');
    expect(login.code).toBe(1);
    expect(login.stderr).toContain('(ERR_LOGIN_NO_ROLE)');
    expect(fs.existsSync(configFile)).toBe(false);
  });
});
