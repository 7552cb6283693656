import fs from 'node:fs';
import path from 'node:path';
import { literalCredentialMessage, looksLikeCredential, templateProblem } from '../broker/secret-refs.ts';
import { MandateError } from '../errors.ts';
import type { ServerSpec } from './server-spec.ts';

/**
 * What makes an upstream server spec unable to work, refused when it is written rather than at
 * the first agent's call: placeholders the gateway cannot fill, credentials written in clear
 * (they belong in the sealed secret store), and a stdio command this host cannot find.
 */
export const templatesOf = (spec: Pick<ServerSpec, 'env' | 'headers'>): Array<[string, string]> => [
  ...Object.entries(spec.env).map(([k, v]): [string, string] => [`env.${k}`, v]),
  ...Object.entries(spec.headers).map(([k, v]): [string, string] => [`headers.${k}`, v]),
];

export function checkCredentials(spec: Pick<ServerSpec, 'env' | 'headers' | 'url'>): void {
  for (const [where, value] of templatesOf(spec)) {
    const problem = templateProblem(value);
    if (problem) throw new MandateError('ERR_TEMPLATE_SYNTAX', `${where} holds ${problem}`, { details: [{ path: where, message: problem }] });
    if (looksLikeCredential(where.split('.')[1]!, value)) throw new MandateError('ERR_LITERAL_SECRET', literalCredentialMessage(where));
  }
  if (spec.url) {
    const url = URL.canParse(spec.url) ? new URL(spec.url) : undefined;
    if (url?.password || [...(url?.searchParams.entries() ?? [])].some(([k, v]) => looksLikeCredential(k, v))) {
      throw new MandateError('ERR_LITERAL_SECRET', literalCredentialMessage('url'));
    }
  }
}

/** The command of a stdio server must be found the way the gateway will spawn it (its PATH). */
export function checkCommand(spec: Pick<ServerSpec, 'transport' | 'command' | 'env'>, searchPath = spec.env.PATH ?? process.env.PATH ?? ''): void {
  if (spec.transport !== 'stdio' || !spec.command) return;
  const command = spec.command[0]!;
  const executable = (file: string) => {
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return fs.statSync(file).isFile();
    } catch {
      return false;
    }
  };
  const found = command.includes('/') ? executable(path.resolve(command)) : searchPath.split(path.delimiter).some((dir) => dir && executable(path.join(dir, command)));
  if (!found) {
    const where = command.includes('/') ? 'is not an executable file on the Mandate server' : "is not found on the Mandate server's PATH";
    throw new MandateError('ERR_SERVER_COMMAND_NOT_FOUND', `command ${JSON.stringify(command.slice(0, 200))} ${where}; give an absolute path or install it there`, {
      details: [{ path: 'command[0]', message: where }],
    });
  }
}
