import type { Command } from 'commander';
import type { Instance } from '../../identity/instances.ts';
import type { JoinTokenCreated } from '../../identity/join-tokens.ts';
import { apiClient } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

const columns = ['id', 'agent_id', 'status', 'created_at', 'spiffe_id'];
const path = (id: string) => `/v1/instances/${encodeURIComponent(id)}`;

/** `mandate instance …`: the attested running instances of agents, and ending one. */
export function instanceCommand(program: Command) {
  const instance = program.command('instance').description('attested agent instances');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  instance
    .command('list')
    .description('list instances, oldest first')
    .option('--agent <id>', 'only instances of this agent')
    .option('--activity', 'with each instance\'s last activity from the trail')
    .action(async (opts: { agent?: string; activity?: boolean }) => {
      const query = new URLSearchParams({ ...(opts.agent ? { agent: opts.agent } : {}), ...(opts.activity ? { activity: 'true' } : {}) });
      const { instances } = await client().request<{ instances: Instance[] }>('GET', `/v1/instances${query.size > 0 ? `?${query}` : ''}`);
      print(instances, !!globals().json, () => table(instances as unknown as Array<Record<string, unknown>>, opts.activity ? [...columns.slice(0, 4), 'last_activity', 'spiffe_id'] : columns));
    });

  instance
    .command('show <id>')
    .description('show one instance: SPIFFE ID, key thumbprint, attested claims')
    .action(async (id: string) => {
      const found = await client().request<Instance>('GET', path(id));
      print(found, !!globals().json, () =>
        keyValues({ ...found, public_jwk: JSON.stringify(found.public_jwk), claims: JSON.stringify(found.claims) }),
      );
    });

  instance
    .command('revoke <id>')
    .description('end an instance: its identity and every mandate it holds or derived, at once')
    .action(async (id: string) => {
      const result = await client().request<{ instance_id: string; revoked_mandates: number }>('POST', `${path(id)}/revoke`);
      print(result, !!globals().json, () => `instance ${result.instance_id} revoked; ${result.revoked_mandates} mandate(s) ended`);
    });
}

/** `mandate agent join-token <agent>`: a one-time token a runtime presents to attest an instance. */
export function joinTokenCommand(agent: Command, program: Command) {
  agent
    .command('join-token <agent>')
    .description('create a join token for provisioning instances of an agent (shown once)')
    .option('--ttl <duration>', 'lifetime, e.g. 10m, 1h (30s to 7d)', '10m')
    .option('--uses <n>', 'how many instances it may attest', '1')
    .action(async (agentId: string, opts: { ttl: string; uses: string }) => {
      const globals = program.opts<GlobalOpts>();
      const created = await apiClient(globals).request<JoinTokenCreated>('POST', `/v1/agents/${encodeURIComponent(agentId)}/join-tokens`, {
        ttl: /^\d+$/.test(opts.ttl) ? Number(opts.ttl) : opts.ttl,
        uses: Number(opts.uses),
      });
      print(created, !!globals.json, () =>
        [
          `Join token for agent ${created.agent_id} (shown once, stored only as a hash):`,
          '',
          `  ${created.token}`,
          '',
          `Expires ${created.expires_at}; attests up to ${created.uses} instance(s).`,
        ].join('\n'),
      );
    });
}
