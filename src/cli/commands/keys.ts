import type { Command } from 'commander';
import { apiClient } from '../client.ts';
import { print } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

/**
 * `mandate keys rotate`: a new signing key signs from now on; the old one keeps verifying.
 * `mandate keys revoke <kid>`: a compromised key is withdrawn at once, with everything it signed.
 */
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
  keys
    .command('revoke')
    .argument('<kid>', 'the key id, as in the JWKS')
    .description('withdraw a signing key at once: unpublished, its tokens refused on every replica, its mandates revoked; a fresh key signs if it was signing')
    .action(async (kid: string) => {
      const globals = program.opts<GlobalOpts>();
      const withdrawn = await apiClient(globals).request<{ kid: string; rotated_to: string | null; revoked_mandates: number }>('POST', `/v1/keys/${encodeURIComponent(kid)}/revoke`);
      print(withdrawn, !!globals.json, () =>
        `signing key ${withdrawn.kid} withdrawn; ${withdrawn.revoked_mandates} mandate(s) revoked${withdrawn.rotated_to ? `; new signing key ${withdrawn.rotated_to}` : ''}. Instances renew their identity tokens with their own keys.`,
      );
    });
}
