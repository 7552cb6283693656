// RFC 8252 §7.3 — loopback redirection: the CLI receives its session on 127.0.0.1.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Command } from 'commander';
import { cliConfigPath, type CliSession, readCliConfig, resolveTarget, writeCliConfig } from '../cli-config.ts';
import { apiClient, CliError } from '../client.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

const PAGE = (text: string) => `<!doctype html><meta charset="utf-8"><title>Mandate</title><p>${text}</p>`;

/**
 * `mandate login`: single sign-on through the operators' OpenID provider. A listener on
 * 127.0.0.1 waits for the session; the provider's sign-in page is opened (or printed); the
 * session (a short-lived operator token) is stored in the CLI config, mode 0600. `mandate logout`
 * revokes it and forgets it.
 */
export function loginCommands(program: Command) {
  const globals = () => program.opts<GlobalOpts>();

  program
    .command('login')
    .description("sign in through the operators' identity provider (single sign-on); the session is kept in the CLI config")
    .option('--no-browser', 'print the sign-in URL instead of opening a browser')
    .option('--timeout <seconds>', 'how long to wait for the sign-in', '300')
    .option('--device', 'sign in with the device authorization grant (RFC 8628): enter a code in a browser on any machine')
    .action(async (opts: { browser: boolean; timeout: string; device?: boolean }) => {
      const { addr } = resolveTarget(globals());
      if (opts.device) {
        saveSession(addr, await deviceLogin(addr, Number(opts.timeout) * 1000));
        return;
      }
      const cliState = crypto.randomBytes(16).toString('base64url');
      const listener = http.createServer();
      await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
      try {
        const returnTo = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/callback?cli_state=${cliState}`;
        const received = receiveSession(listener, cliState, Number(opts.timeout) * 1000);
        const signIn = await startLogin(addr, returnTo);
        process.stderr.write(`Sign in at:\n  ${signIn}\n`);
        if (opts.browser) openBrowser(signIn);
        saveSession(addr, await received);
      } finally {
        listener.closeAllConnections();
        listener.close();
      }
    });

  program
    .command('logout')
    .description('revoke the session mandate login stored, and forget it')
    .action(async () => {
      const file = cliConfigPath();
      const current = readCliConfig(file);
      if (!current?.session) {
        process.stdout.write('not signed in\n');
        return;
      }
      const { session, ...rest } = current;
      if (Date.parse(session.expires_at) > Date.now()) {
        await apiClient({ addr: globals().addr ?? current.addr, token: session.token }).request('DELETE', `/v1/tokens/${session.id}`);
      }
      writeCliConfig(rest, file);
      process.stdout.write(`signed out ${session.operator}; session ${session.id} revoked\n`);
    });
}

function saveSession(addr: string, session: CliSession) {
  const file = cliConfigPath();
  const current = readCliConfig(file);
  writeCliConfig({ ...current, addr: current?.addr ?? addr, session }, file);
  process.stdout.write(`signed in as ${session.operator} with roles ${session.roles.join(', ')} until ${session.expires_at} (saved in ${file}, mode 0600)\n`);
}

/** A POST to a login route: its status and body, or the problem it answered as a CliError. */
async function post(addr: string, route: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  let response: Response;
  try {
    response = await fetch(`${addr}${route}`, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliError(`cannot reach Mandate at ${addr} (${reason}); is \`mandate serve\` running?`);
  }
  const answer = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (response.status >= 400) throw new CliError(`${(answer.detail as string | undefined) ?? response.statusText} (${(answer.code as string | undefined) ?? `HTTP ${response.status}`})`);
  return { status: response.status, body: answer };
}

/**
 * RFC 8628: Mandate starts a device login at the provider; the person enters the code shown here
 * in a browser anywhere; the CLI polls Mandate at the provider's interval until the session comes.
 */
async function deviceLogin(addr: string, timeoutMs: number): Promise<CliSession> {
  const started = (await post(addr, '/v1/login/device')).body as { handle: string; user_code: string; verification_uri: string; verification_uri_complete: string | null; interval: number; expires_in: number };
  process.stderr.write(`To sign in, open:\n  ${started.verification_uri}\nand enter the code: ${started.user_code}\n`);
  if (started.verification_uri_complete) process.stderr.write(`(or open ${started.verification_uri_complete})\n`);
  const waitMs = Math.min(timeoutMs, started.expires_in * 1000);
  const deadline = Date.now() + waitMs;
  let interval = started.interval;
  while (Date.now() + interval * 1000 <= deadline) {
    await new Promise((resolve) => setTimeout(resolve, interval * 1000));
    const polled = await post(addr, '/v1/login/device/poll', { handle: started.handle });
    if (polled.status === 202) {
      interval = Number(polled.body.interval) || interval;
      continue;
    }
    const { token, id, operator, roles, expires_at } = polled.body as Partial<CliSession>;
    if (!token || !id || !operator || !expires_at) throw new CliError('Mandate answered the sign-in without a session');
    return { token, id, operator, roles: roles ?? [], expires_at };
  }
  throw new CliError(`no sign-in within ${Math.round(waitMs / 1000)} s; run mandate login --device again`);
}

/** Ask Mandate to begin a login; the provider's sign-in URL it redirects to. */
async function startLogin(addr: string, returnTo: string): Promise<string> {
  let response: Response;
  try {
    response = await fetch(`${addr}/v1/login?return_to=${encodeURIComponent(returnTo)}`, { redirect: 'manual' });
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliError(`cannot reach Mandate at ${addr} (${reason}); is \`mandate serve\` running?`);
  }
  const location = response.headers.get('location');
  if (response.status === 303 && location) return location;
  const problem = (await response.json().catch(() => ({}))) as { detail?: string; code?: string };
  throw new CliError(`${problem.detail ?? response.statusText} (${problem.code ?? `HTTP ${response.status}`})`);
}

/** The session Mandate hands to the loopback listener; only with this login's `cli_state`. */
function receiveSession(listener: http.Server, cliState: string, timeoutMs: number): Promise<CliSession> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new CliError(`no sign-in within ${timeoutMs / 1000} s; run mandate login again`)), timeoutMs);
    listener.on('request', (request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (url.pathname !== '/callback' || url.searchParams.get('cli_state') !== cliState) {
        response.writeHead(404, { 'content-type': 'text/html' }).end(PAGE('Not this login.'));
        return;
      }
      clearTimeout(timer);
      const params = Object.fromEntries(url.searchParams);
      if (params.error) {
        response.writeHead(403, { 'content-type': 'text/html' }).end(PAGE('Sign-in refused; see the terminal.'));
        reject(new CliError(`sign-in refused: ${params.error_description ?? ''} (${params.error})`));
        return;
      }
      const { token, id, operator, roles, expires_at } = params;
      if (!token || !id || !operator || !expires_at) {
        response.writeHead(400, { 'content-type': 'text/html' }).end(PAGE('Incomplete answer; see the terminal.'));
        reject(new CliError('Mandate answered the sign-in without a session'));
        return;
      }
      response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE('Signed in to Mandate. You can close this tab.'));
      resolve({ token, id, operator, roles: roles ? roles.split(',') : [], expires_at });
    });
  });
}

function openBrowser(url: string) {
  const command = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open';
  try {
    const child = spawn(command, [url], { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // No browser here: the URL is printed above.
  }
}
