import type { Command } from 'commander';
import { apiClient } from '../client.ts';
import { print } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

/** `mandate keys rotate`: a new signing key signs from now on; the old one keeps verifying. */
export function keysCommand(program: Command) {
  const keys = program.command('keys').description('control-plane signing keys');
  keys
    .command('rotate')
    .description('rotate the signing key; tokens signed by the old key stay valid until they expire')
    .action(async () => {
      const globals = program.opts<GlobalOpts>();
      const rotated = await apiClient(globals).request<{ kid: string; retired: string | null }>('POST', '/v1/keys/rotate');
      print(rotated, !!globals.json, () =>
        `signing key rotated: new kid ${rotated.kid}${rotated.retired ? `, retired ${rotated.retired} (still published until its tokens expire)` : ''}`,
      );
    });
}
