import type { Command } from 'commander';
import { apiClient } from '../client.ts';
import { print } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

/** `mandate user token <email>`: a person token from the development issuer, for trying mandates out. */
export function userCommand(program: Command) {
  const user = program.command('user').description('persons agents act for (development issuer)');
  user
    .command('token <email>')
    .description('issue a person token from the development issuer (not for production)')
    .option('--ttl <duration>', 'lifetime, e.g. 15m, 1h (1m to 1d)', '1h')
    .option('--group <groups>', 'comma-separated groups the person is in (the token\'s groups claim), e.g. finance,operators')
    .action(async (email: string, opts: { ttl: string; group?: string }) => {
      const groups = (opts.group ?? '').split(',').map((g) => g.trim()).filter((g) => g !== '');
      const globals = program.opts<GlobalOpts>();
      const issued = await apiClient(globals).request<{ token: string; subject: string; issuer: string; expires_in: number; groups: string[] }>(
        'POST',
        '/v1/users/token',
        { subject: email, ttl: /^\d+$/.test(opts.ttl) ? Number(opts.ttl) : opts.ttl, ...(groups.length > 0 ? { groups } : {}) },
      );
      // The bare token on stdout, so `$(mandate user token alice@example.com)` works.
      print(issued, !!globals.json, () => issued.token);
      if (!globals.json) process.stderr.write(`person token for ${issued.subject} from ${issued.issuer}, expires in ${issued.expires_in}s\n`);
    });
}
