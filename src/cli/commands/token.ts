import fs from 'node:fs';
import type { Command } from 'commander';
import { resolveTarget } from '../cli-config.ts';
import { CliError } from '../client.ts';
import { keyValues, print } from '../output.ts';

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

/** `mandate token introspect|revoke <token>`: what a mandate grants, and ending it (with its children). */
export function tokenCommand(program: Command) {
  const token = program.command('token').description('inspect and revoke mandates');
  const globals = () => program.opts<GlobalOpts>();

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
    .description('revoke a mandate and every mandate derived from it (- reads the token from stdin)')
    .action(async (value: string) => {
      await postForm(globals(), '/oauth/revoke', { token: readToken(value) });
      print({ revoked: true }, !!globals().json, () => 'revoked (a token Mandate did not issue is ignored, RFC 7009 §2.2)');
    });
}

const isoTime = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : seconds);
