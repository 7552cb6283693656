import { type ChildProcess, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { revealSecret } from '../src/broker/secrets.ts';
import { masterKeyFrom } from '../src/identity/master-key.ts';
import { activeSigningKey } from '../src/identity/signing-keys.ts';
import { signingKeyOf } from '../src/notify/sinks.ts';
import { findSink } from '../src/store/notify-sinks.ts';
import { openStore } from '../src/store/open.ts';
import { tempDir } from './harness.ts';

/** `mandate secret …` and `mandate connection …` as an operator runs them, against a real server. */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const SECRET = 'ghp_cli0secret0value0never0in0argv';

function mandate(args: string[], env: NodeJS.ProcessEnv, stdin?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

describe('the broker CLI', () => {
  const dataDir = tempDir('mandate-broker-cli-');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: dataDir, MANDATE_DATA_DIR: dataDir, MANDATE_PORT: String(port), MANDATE_LOG_LEVEL: 'warn' };
  let server: ChildProcess;

  const startServer = async () => {
    server = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    await new Promise<void>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => reject(new Error(`server did not start: ${seen}`)), 15_000);
      server.stderr!.on('data', (d) => {
        seen += d;
        if (seen.includes('Mandate listening on')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  };

  beforeAll(async () => {
    expect((await mandate(['init'], env)).code).toBe(0);
    await startServer();
  });

  afterAll(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('stores a secret read from stdin or a file, and lists only its metadata', async () => {
    const set = await mandate(['secret', 'set', 'github_token'], env, `${SECRET}\n`);
    expect(set.code).toBe(0);
    expect(set.stdout).toMatch(/secret github_token stored \(sealed under master key [0-9a-f]{16}\)/);
    const file = path.join(dataDir, 'alice.token');
    fs.writeFileSync(file, 'alice-personal-token', { mode: 0o600 });
    expect((await mandate(['secret', 'set', 'person_token/alice@example.com', '--file', file], env)).code).toBe(0);
    const list = await mandate(['--json', 'secret', 'list'], env);
    expect(JSON.parse(list.stdout).map((s: { name: string }) => s.name)).toEqual(['github_token', 'person_token/alice@example.com']);
    expect(list.stdout).not.toContain(SECRET);
    expect((await mandate(['secret', 'set', 'empty'], env, '')).code).toBe(2);
  });

  it('adds, shows, lists and removes an HTTP connection with rules and endpoint metadata', async () => {
    const add = await mandate(
      ['connection', 'add', 'github', '--base-url', 'https://api.github.com', '--inject', 'header:Authorization=Bearer {{secret:github_token}}', '--allow', 'GET /repos/**', '--allow', 'POST /repos/*/*/issues', '--cost', 'POST /repos/**=5', '--high-impact', 'DELETE /**', '--classification', 'GET /repos/*/*/secrets/**=restricted', '--timeout', '5000'],
      env,
    );
    expect(add.stderr).toBe('');
    expect(add.stdout).toContain(`added connection github: agents reach it at http://127.0.0.1:${port}/broker/github/…`);
    const shown = JSON.parse((await mandate(['--json', 'connection', 'show', 'github'], env)).stdout);
    expect(shown).toMatchObject({
      type: 'http',
      timeout_ms: 5000,
      allow: ['GET /repos/**', 'POST /repos/*/*/issues'],
      endpoints: [{ match: 'POST /repos/**', cost: 5 }, { match: 'GET /repos/*/*/secrets/**', classification: 'restricted' }, { match: 'DELETE /**', high_impact: true }],
    });
    expect((await mandate(['connection', 'list'], env)).stdout).toMatch(/github\s+http\s+https:\/\/api\.github\.com/);
    const bad = await mandate(['connection', 'add', 'loop', '--base-url', 'http://2130706433/', '--allow', 'GET /**'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('ERR_CONNECTION_BASE_URL');
    // A database connection whose DSN secret was never stored cannot work: refused when written.
    const db = await mandate(['connection', 'add', 'shop', '--type', 'postgres', '--dsn-secret', 'pg_admin', '--grant-template', 'GRANT SELECT ON public.orders TO {{role}}'], env);
    expect(db.code).toBe(1);
    expect(db.stderr).toContain('no secret named pg_admin: store it first with `mandate secret set pg_admin`');
    expect(db.stderr).toContain('dsn_secret: {{secret:pg_admin}} does not exist');
    expect((await mandate(['connection', 'remove', 'github'], env)).stdout).toContain('removed connection github');
  });

  it('re-seals every secret under a new master key, offline on the data dir', async () => {
    expect((await mandate(['sink', 'add', 'rotated', '--url', 'https://hooks.example.com/x', '--secret-from-stdin'], env, 'whsec-rotated-0123456789\n')).code).toBe(0);
    server.kill('SIGTERM');
    await new Promise((resolve) => server.once('exit', resolve));
    const newKey = crypto.randomBytes(32);
    const newFile = path.join(dataDir, 'master.key.new');
    fs.writeFileSync(newFile, `${newKey.toString('base64')}\n`, { mode: 0o600 });
    const rewrap = await mandate(['secret', 'rewrap', '--old-key', path.join(dataDir, 'master.key'), '--new-key', newFile, '--data-dir', dataDir], env);
    expect(rewrap.stderr).toBe('');
    const to = masterKeyFrom(newKey);
    expect(rewrap.stdout).toContain(`re-sealed 2 secret(s), 0 database role password(s), 1 sink key(s) and 1 signing key(s) under master key ${to.id}`);
    const store = await openStore({ dataDir });
    try {
      expect(await revealSecret(store.db, to, 'github_token')).toBe(SECRET);
      expect(await signingKeyOf(store.db, to, (await findSink(store.db, 'rotated'))!)).toBe('whsec-rotated-0123456789');
      // The control plane can sign with its key under the new master key.
      expect((await activeSigningKey(store.db, to))?.kid).toEqual(expect.any(String));
      expect((await store.db.selectFrom('secrets').select('master_key_id').execute()).every((r) => r.master_key_id === to.id)).toBe(true);
    } finally {
      await store.close();
    }
    const again = await mandate(['secret', 'rewrap', '--old-key', newFile, '--new-key', newFile, '--data-dir', dataDir], env);
    expect(again.code).toBe(1);
  });
});
