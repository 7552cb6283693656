import { type ChildProcess, execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from './harness.ts';

/** The CLI as a user runs it: `node bin/mandate.js …` in child processes against a real server. */
const BIN = path.resolve(import.meta.dirname, '../bin/mandate.js');
const run = promisify(execFile);

async function mandate(args: string[], env: NodeJS.ProcessEnv, cwd?: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { env, timeout: 20_000, ...(cwd ? { cwd } : {}) });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function waitForOutput(child: ChildProcess, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${pattern}: ${seen}`)), 15_000);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const match = pattern.exec(seen);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] ?? match[0]);
      }
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${seen}`)));
  });
}

describe('the mandate CLI against a running server', () => {
  const dataDir = tempDir('mandate-cli-');
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: dataDir,
    MANDATE_DATA_DIR: dataDir,
    MANDATE_PORT: String(port),
    MANDATE_LOG_LEVEL: 'warn',
  };
  let server: ChildProcess;

  beforeAll(async () => {
    const init = await mandate(['init'], env);
    expect(init.code).toBe(0);
    expect(init.stdout).toMatch(/mdt_[A-Za-z0-9_-]+\./);
    server = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    await waitForOutput(server, /Mandate listening on (\S+)/);
  });

  afterAll(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('init wrote a 0600 CLI config and a 0600 master key, and a second init mints no token', async () => {
    expect(fs.statSync(path.join(dataDir, 'cli.json')).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    const again = await mandate(['init'], env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Already initialized');
    expect(again.stdout).not.toMatch(/mdt_/);
  });

  it('applies a YAML file, lists it as a table and as JSON, and stays idempotent', async () => {
    const file = path.join(dataDir, 'agents.yaml');
    fs.writeFileSync(
      file,
      'agents:\n  - id: support-bot\n    name: Support bot\n    owner: alice@example.com\n    environment: prod\n  - id: scratch\n    name: Scratch\n',
    );
    const first = await mandate(['agent', 'apply', '-f', file], env);
    expect(first.stdout).toBe('support-bot: created\nscratch: created\n');
    const second = await mandate(['agent', 'apply', '-f', file], env);
    expect(second.stdout).toBe('support-bot: unchanged\nscratch: unchanged\n');
    const list = await mandate(['agent', 'list'], env);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID\s+NAME\s+OWNER\s+ENVIRONMENT\s+STATUS/);
    expect(list.stdout).toMatch(/scratch\s+Scratch\s+-\s+dev\s+active\s+-\s+no-owner/);
    const json = JSON.parse(
      (await mandate(['--json', 'agent', 'list', '--environment', 'prod'], env)).stdout,
    );
    expect(json.map((a: { id: string }) => a.id)).toEqual(['support-bot']);
  });

  it('registers from flags and moves an agent through suspend, resume and retire', async () => {
    expect(
      (
        await mandate(
          ['agent', 'register', '--id', 'flag-bot', '--name', 'Flag bot', '--tool', 'tool:github/*'],
          env,
        )
      ).code,
    ).toBe(0);
    expect((await mandate(['agent', 'suspend', 'flag-bot'], env)).stdout).toContain('now suspended');
    expect((await mandate(['agent', 'resume', 'flag-bot'], env)).stdout).toContain('now active');
    expect((await mandate(['agent', 'retire', 'flag-bot'], env)).stdout).toContain('now retired');
    const show = JSON.parse((await mandate(['--json', 'agent', 'show', 'flag-bot'], env)).stdout);
    expect(show).toMatchObject({ status: 'retired', toolset: ['tool:github/*'] });
  });

  it('exits non-zero with the server message on refusals and bad files', async () => {
    const orphan = await mandate(['agent', 'register', '--id', 'orphan', '--environment', 'prod'], env);
    expect(orphan.code).toBe(1);
    expect(orphan.stderr).toContain('agent orphan is in prod and has no owner');
    expect(orphan.stderr).toContain('ERR_OWNER_REQUIRED');
    const missing = await mandate(['agent', 'show', 'ghost'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('agent ghost not found (ERR_AGENT_NOT_FOUND)');
    const bad = path.join(dataDir, 'bad.yaml');
    fs.writeFileSync(bad, 'agents:\n  - id: [oops\n');
    const malformed = await mandate(['agent', 'apply', '-f', bad], env);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/malformed YAML in .*bad\.yaml at line \d/);
    const noToken = await mandate(['agent', 'list'], { ...env, MANDATE_TOKEN: 'mdt_nope' });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('ERR_UNAUTHENTICATED');
  });

  it('reports an unreachable server clearly', async () => {
    const res = await mandate(['agent', 'list'], { ...env, MANDATE_ADDR: 'http://127.0.0.1:1' });
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('cannot reach Mandate at http://127.0.0.1:1');
  });

  it('understands --addr without a scheme as http://, and explains a scheme it cannot use', async () => {
    const list = await mandate(['--addr', `127.0.0.1:${port}`, '--json', 'agent', 'list'], env);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((a: { id: string }) => a.id)).toContain('support-bot');
    const ftp = await mandate(['--addr', `ftp://127.0.0.1:${port}`, 'agent', 'list'], env);
    expect(ftp.code).toBe(2);
    expect(ftp.stderr).toContain('Mandate is reached over http:// or https://, not ftp://');
    expect(ftp.stderr).toContain('http://host:port');
  });

  it('says, outside the data directory, that no CLI config was found and where it looks', async () => {
    const elsewhere = tempDir('mandate-elsewhere-');
    const bare = { PATH: process.env.PATH, HOME: elsewhere };
    const noToken = await mandate(['agent', 'list'], { ...bare, MANDATE_ADDR: `http://127.0.0.1:${port}` }, elsewhere);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain('ERR_UNAUTHENTICATED');
    expect(noToken.stderr).toContain(`no CLI config found at ${fs.realpathSync(elsewhere)}/.mandate/cli.json`);
    expect(noToken.stderr).toContain('MANDATE_DATA_DIR');
    const noServer = await mandate(['agent', 'list'], { ...bare, MANDATE_PORT: '1' }, elsewhere);
    expect(noServer.code).toBe(1);
    expect(noServer.stderr).toContain('cannot reach Mandate at http://127.0.0.1:1');
    expect(noServer.stderr).toContain('no CLI config found at');
    // Where a config exists the hint stays out of the way.
    expect((await mandate(['agent', 'show', 'ghost'], env)).stderr).not.toContain('no CLI config');
    fs.rmSync(elsewhere, { recursive: true, force: true });
  });

  it('refuses servers and connections that cannot work, and never echoes a credential given on argv', async () => {
    const literal = 'sk-live-4f9a8b7c6d5e4f3a2b1c0d9e';
    const inClear = await mandate(['server', 'add', 'clear', '--command', 'node x.js', '--env', `API_TOKEN=${literal}`], env);
    expect(inClear.code).toBe(2);
    expect(inClear.stderr).toContain('env.API_TOKEN holds what looks like a credential in clear');
    expect(inClear.stderr).toContain('(ERR_LITERAL_SECRET)');
    expect(inClear.stderr + inClear.stdout).not.toContain(literal);
    const noKey = await mandate(['server', 'add', 'clear', '--command', 'node x.js', '--env', literal], env);
    expect(noKey.code).toBe(2);
    expect(noKey.stderr + noKey.stdout).not.toContain(literal);
    const onArgv = await mandate(['secret', 'set', 'api_token', literal], env);
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toContain('refused: a secret value on the command line is visible to other users');
    expect(onArgv.stderr + onArgv.stdout).not.toContain(literal);
    expect((await mandate(['--json', 'secret', 'list'], env)).stdout).not.toContain('api_token');

    const missing = await mandate(['server', 'add', 'needs', '--command', `${process.execPath} x.js`, '--env', 'API_TOKEN={{secret:api_token}}'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no secret named api_token: store it first with `mandate secret set api_token`');
    expect(missing.stderr).toContain('env.API_TOKEN: {{secret:api_token}} does not exist');
    const syntax = await mandate(['server', 'add', 'typo', '--command', `${process.execPath} x.js`, '--env', 'API_TOKEN={{secrets:api_token}}'], env);
    expect(syntax.code).toBe(2);
    expect(syntax.stderr).toContain('unknown placeholder {{secrets…}} (placeholders are {{secret:name}} or {{secret:name/<sub>}}) (ERR_TEMPLATE_SYNTAX)');
    const command = await mandate(['server', 'add', 'nocmd', '--command', 'mandate-no-such-command-42 --stdio'], env);
    expect(command.code).toBe(1);
    expect(command.stderr).toContain('command "mandate-no-such-command-42" is not found on the Mandate server\'s PATH; give an absolute path or install it there (ERR_SERVER_COMMAND_NOT_FOUND)');
    const inject = await mandate(['connection', 'add', 'gh', '--base-url', 'https://api.github.com', '--inject', 'header:Authorization=Bearer {{secret:gh', '--allow', 'GET /**'], env);
    expect(inject.code).toBe(2);
    expect(inject.stderr).toContain('an unclosed {{');
    expect((await mandate(['--json', 'server', 'list'], env)).stdout).toBe('[]\n');

    const perPerson = await mandate(['connection', 'add', 'mine', '--base-url', 'https://api.example.com', '--inject', 'header:X-Api-Key={{secret:person_key/<sub>}}', '--allow', 'GET /**'], env);
    expect(perPerson.code).toBe(0);
    expect(perPerson.stderr).toContain('note: {{secret:person_key/<sub>}} is filled per person at call time; store one for each person (mandate secret set person_key/<person>)');
  });

  it('shuts down gracefully on SIGTERM with exit code 0', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});

describe('mandate serve on a fresh data dir', () => {
  it('creates everything on first start and prints the admin token once', async () => {
    const dataDir = tempDir('mandate-serve-');
    const env = {
      PATH: process.env.PATH,
      HOME: dataDir,
      MANDATE_DATA_DIR: dataDir,
      MANDATE_PORT: '0',
      MANDATE_LOG_LEVEL: 'warn',
    };
    const start = async () => {
      const child = spawn(process.execPath, [BIN, 'serve'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stderr.on('data', (c: Buffer) => {
        out += c.toString();
      });
      await waitForOutput(child, /Mandate listening on (\S+)/);
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      return out;
    };
    const first = await start();
    expect(first).toMatch(/Initial admin token[^\n]*\n\n {2}mdt_/);
    const config = JSON.parse(fs.readFileSync(path.join(dataDir, 'cli.json'), 'utf8'));
    expect(first).toContain(config.token);
    const second = await start();
    expect(second).not.toContain('mdt_');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('a first serve that cannot bind its port', () => {
  let blocker: net.Server | undefined;
  let child: ChildProcess | undefined;
  const dataDir = tempDir('mandate-busy-');
  afterAll(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await new Promise((resolve) => (blocker ? blocker.close(resolve) : resolve(undefined)));
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('spends no admin token, says the port is taken with a --port hint, and a retry elsewhere prints a working token', async () => {
    blocker = net.createServer();
    await new Promise<void>((resolve) => blocker!.listen(0, '127.0.0.1', resolve));
    const busy = (blocker.address() as net.AddressInfo).port;
    const env = { PATH: process.env.PATH, HOME: dataDir, MANDATE_DATA_DIR: dataDir, MANDATE_LOG_LEVEL: 'warn' };

    const refused = await mandate(['serve', '--port', String(busy)], env);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`cannot listen on 127.0.0.1:${busy}: the port is already in use`);
    expect(refused.stderr).toContain('--port <port>');
    expect(refused.stderr + refused.stdout).not.toMatch(/mdt_/);
    expect(fs.existsSync(path.join(dataDir, 'cli.json'))).toBe(false);

    child = spawn(process.execPath, [BIN, 'serve', '--port', '0'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '';
    child.stderr!.on('data', (chunk: Buffer) => (said += chunk.toString()));
    const url = await waitForOutput(child, /Mandate listening on (\S+)/);
    const token = /\n {2}(mdt_[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\n/.exec(said)?.[1];
    const agents = await fetch(`${url}/v1/agents`, { headers: { authorization: `Bearer ${token}` } });
    expect(agents.status).toBe(200);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'cli.json'), 'utf8'))).toEqual({ addr: url, token });
  });
});

describe('the CLI on its own', () => {
  const env = { PATH: process.env.PATH };

  it('prints its version', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, '../package.json'), 'utf8'));
    expect(await mandate(['--version'], env)).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
  });

  it('prints bash completion generated from its commands, which bash completes with', async () => {
    const script = (await mandate(['completion', 'bash'], env)).stdout;
    const complete = async (words: string[]) => {
      const { stdout } = await promisify(execFile)('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _mandate; echo "\${COMPREPLY[*]}"`], { timeout: 10_000 });
      return stdout.trim().split(' ').sort();
    };
    expect(await complete(['mandate', 'ag'])).toEqual(['agent']);
    expect(await complete(['mandate', 'agent', 're'])).toEqual(['register', 'resume', 'retire']);
    expect(await complete(['mandate', '--addr', 'http://x', 'server', 'add', 'name', '--c'])).toEqual(['--classification', '--command', '--cost']);
    expect(await complete(['mandate', 'completion', ''])).toEqual(['--help']);
  });

  it('prints zsh and fish completion for the same commands, and refuses other shells', async () => {
    const zsh = await mandate(['completion', 'zsh'], env);
    expect(zsh.stdout).toContain('bashcompinit');
    expect(zsh.stdout).toContain('"mcp-proxy") echo "--identity --agent');
    const fish = (await mandate(['completion', 'fish'], env)).stdout;
    expect(fish).toContain("complete -c mandate -n '__fish_use_subcommand' -a mcp-proxy -d 'stdio bridge to the gateway");
    expect(fish).toContain("complete -c mandate -n '__fish_seen_subcommand_from connection; and __fish_seen_subcommand_from add' -l base-url -r -d");
    const tcsh = await mandate(['completion', 'tcsh'], env);
    expect(tcsh.code).toBe(2);
    expect(tcsh.stderr).toContain('Allowed choices are bash, zsh, fish');
  });
});
