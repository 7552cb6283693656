import fs from 'node:fs';
import type { Command } from 'commander';
import { resolveTarget } from '../cli-config.ts';
import { apiClient, CliError } from '../client.ts';
import { keyValues, print, table } from '../output.ts';
import { collectRoles } from './operator.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

/** A token from the argument, or from stdin with `-` (keeps it out of the process list and history). */
function readToken(value: string): string {
  const token = (value === '-' ? fs.readFileSync(0, 'utf8') : value).trim();
  if (!token) throw new CliError('no token given', 2);
  return token;
}

/** RFC 7662 / RFC 7009 endpoints take a form body, authenticated with the admin token as Bearer. */
async function postForm(flags: GlobalOpts, path: string, fields: Record<string, string>): Promise<unknown> {
  const { addr, token } = resolveTarget(flags);
  let response: Response;
  try {
    response = await fetch(`${addr}${path}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: new URLSearchParams(fields),
    });
  } catch (error) {
    const reason = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message;
    throw new CliError(`cannot reach Mandate at ${addr} (${reason}); is \`mandate serve\` running?`);
  }
  const text = await response.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    const error = String(body.error ?? `HTTP ${response.status}`);
    throw new CliError(`${path} refused: ${error}${body.error_description ? ` (${String(body.error_description)})` : ''}`);
  }
  return body;
}

interface ApiToken {
  id: string;
  token?: string;
  name: string;
  operator: string | null;
  roles: string[];
  created_at: string;
  expires_at: string | null;
  last_used_at?: string | null;
  status?: string;
}

/** An operator API token's id (`mdt_<id>.<secret>`), given bare or as the whole token. */
const API_TOKEN_ID = /^(?:mdt_)?([A-Za-z0-9_-]{11})(?:\.[A-Za-z0-9_-]{43})?$/;

/**
 * `mandate token create|list|revoke`: operator API tokens; `token introspect|revoke <mandate>`:
 * what a mandate grants, and ending it (with its children).
 */
export function tokenCommand(program: Command) {
  const token = program.command('token').description('operator API tokens, and inspecting or revoking mandates');
  const globals = () => program.opts<GlobalOpts>();

  token
    .command('create')
    .description('create an API token (shown once) with roles no wider than yours')
    .option('--role <role>', 'a role, e.g. auditor or approver:prod (repeatable; default: all of the operator\'s, or yours)', collectRoles)
    .option('--ttl <duration>', 'lifetime, e.g. 12h, 30d (1m to 365d)', '30d')
    .option('--for <operator>', 'the operator (subject or email) it belongs to; yours by default; only an admin makes one for someone else')
    .option('--name <name>', 'a name for the token (default: the operator, else "token by <you>")')
    .action(async (opts: { role?: string[]; ttl: string; for?: string; name?: string }) => {
      const created = await apiClient(globals()).request<ApiToken>('POST', '/v1/tokens', {
        ttl: /^\d+$/.test(opts.ttl) ? Number(opts.ttl) : opts.ttl,
        ...(opts.role ? { roles: opts.role } : {}),
        ...(opts.for ? { for: opts.for } : {}),
        ...(opts.name ? { name: opts.name } : {}),
      });
      // The bare token on stdout, so `MANDATE_TOKEN=$(mandate token create …)` works.
      print(created, !!globals().json, () => created.token!);
      if (!globals().json) {
        process.stderr.write(`token ${created.id} (${created.roles.join(', ')}${created.operator ? ` for ${created.operator}` : ''}), expires ${created.expires_at}; shown once, store it now\n`);
      }
    });

  token
    .command('list')
    .description('list API tokens (all for an admin or auditor, else yours); never their secrets')
    .action(async () => {
      const { tokens } = await apiClient(globals()).request<{ tokens: ApiToken[] }>('GET', '/v1/tokens');
      print(tokens, !!globals().json, () => table(tokens.map((t) => ({ ...t })), ['id', 'name', 'operator', 'roles', 'status', 'expires_at', 'last_used_at']));
    });

  token
    .command('introspect <token>')
    .description('show whether a mandate is active and what it grants (- reads the token from stdin)')
    .action(async (value: string) => {
      const result = (await postForm(globals(), '/oauth/introspect', { token: readToken(value) })) as Record<string, unknown>;
      print(result, !!globals().json, () => {
        if (result.active !== true) return 'active  false';
        const { act: _act, cnf, task, ...rest } = result;
        return keyValues({
          ...rest,
          cnf_jkt: (cnf as { jkt?: string } | undefined)?.jkt,
          ...(task ? { task: JSON.stringify(task) } : {}),
          iat: isoTime(rest.iat),
          exp: isoTime(rest.exp),
        });
      });
    });

  token
    .command('revoke <token>')
    .description('revoke an API token (its id, or the token itself), or a mandate and every mandate derived from it (- reads it from stdin)')
    .action(async (value: string) => {
      const given = readToken(value);
      const apiToken = API_TOKEN_ID.exec(given);
      if (apiToken) {
        const revoked = await apiClient(globals()).request<ApiToken>('DELETE', `/v1/tokens/${apiToken[1]}`);
        print(revoked, !!globals().json, () => `revoked API token ${revoked.id} (${revoked.name})`);
        return;
      }
      await postForm(globals(), '/oauth/revoke', { token: given });
      print({ revoked: true }, !!globals().json, () => 'revoked (a token Mandate did not issue is ignored, RFC 7009 §2.2)');
    });
}

const isoTime = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : seconds);
