import type { Command } from 'commander';
import { apiClient } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface Operator {
  subject: string;
  email: string;
  name: string;
  roles: string[];
  created_at: string;
  created_by: string | null;
}

/** `--role a --role b,c`: every role given, in order. */
export const collectRoles = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((r) => r.trim()).filter(Boolean)];

/** `mandate operator add|list|show|remove`: persons who operate Mandate, with their roles. */
export function operatorCommand(program: Command) {
  const operator = program.command('operator').description('operators: persons with roles (admin, security, approver, auditor, owner; role:environment scopes one)');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  operator
    .command('add <subject>')
    .description('add an operator with roles no wider than yours')
    .requiredOption('--email <email>', 'their email (matched against agent card owners)')
    .requiredOption('--name <name>', 'display name')
    .requiredOption('--role <role>', 'a role, e.g. approver or approver:prod (repeatable, or comma-separated)', collectRoles)
    .action(async (subject: string, opts: { email: string; name: string; role: string[] }) => {
      const added = await client().request<Operator>('POST', '/v1/operators', { subject, email: opts.email, name: opts.name, roles: opts.role });
      print(added, !!globals().json, () => `added operator ${added.subject} <${added.email}> with roles ${added.roles.join(', ')}`);
    });

  operator
    .command('list')
    .description('list operators and their roles')
    .action(async () => {
      const { operators } = await client().request<{ operators: Operator[] }>('GET', '/v1/operators');
      print(operators, !!globals().json, () => table(operators.map((o) => ({ ...o })), ['subject', 'email', 'name', 'roles', 'created_at']));
    });

  operator
    .command('show <subject>')
    .description('show an operator (by subject or email)')
    .action(async (subject: string) => {
      const shown = await client().request<Operator>('GET', `/v1/operators/${encodeURIComponent(subject)}`);
      print(shown, !!globals().json, () => keyValues({ ...shown }));
    });

  operator
    .command('remove <subject>')
    .description('remove an operator and revoke their API tokens')
    .action(async (subject: string) => {
      const removed = await client().request<{ subject: string; revoked_tokens: number }>('DELETE', `/v1/operators/${encodeURIComponent(subject)}`);
      print(removed, !!globals().json, () => `removed operator ${removed.subject}; ${removed.revoked_tokens} token(s) revoked`);
    });
}
