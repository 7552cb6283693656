import type { Command } from 'commander';
import { apiClient, CliError } from '../client.ts';
import { readDocuments } from '../input.ts';
import { print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface Entitlement {
  group: string;
  items: string[];
  updated_at: string;
}

/** The entitlements in a file: an `entitlements:` list, documents `{ group, items }`, or arrays of them. */
function readEntitlements(file: string): unknown[] {
  return readDocuments(file).flatMap((doc) => {
    if (Array.isArray(doc)) return doc;
    if (doc && typeof doc === 'object' && 'entitlements' in doc && Object.keys(doc).length === 1) {
      const list = (doc as { entitlements: unknown }).entitlements;
      if (!Array.isArray(list)) throw new CliError(`${file}: entitlements must be a list`);
      return list;
    }
    return [doc];
  });
}

/** `mandate entitlement …`: which scope items a person's groups let agents have for them. */
export function entitlementCommand(program: Command) {
  const entitlement = program
    .command('entitlement')
    .description("persons' rights: group → toolset items; once any is set, a mandate never exceeds its person's");
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  entitlement
    .command('set <group> <items...>')
    .description('set the scope items members of a group may have an agent do for them (replaces the group\'s)')
    .action(async (group: string, items: string[]) => {
      const set = await client().request<Entitlement>('PUT', `/v1/entitlements/${encodeURIComponent(group)}`, { items });
      print(set, !!globals().json, () => `group ${set.group}: ${set.items.join(' ')}`);
    });

  entitlement
    .command('list')
    .description('list every group\'s entitlements')
    .action(async () => {
      const listed = await client().request<{ configured: boolean; entitlements: Entitlement[] }>('GET', '/v1/entitlements');
      print(listed, !!globals().json, () =>
        listed.configured
          ? table(listed.entitlements.map((e) => ({ ...e, items: e.items.join(' ') })), ['group', 'items', 'updated_at'])
          : 'no entitlements configured: persons do not limit mandates',
      );
    });

  entitlement
    .command('remove <group>')
    .description('remove a group\'s entitlements')
    .action(async (group: string) => {
      await client().request('DELETE', `/v1/entitlements/${encodeURIComponent(group)}`);
      print({ removed: group }, !!globals().json, () => `removed entitlements of group ${group}`);
    });

  entitlement
    .command('apply')
    .description('replace every group\'s entitlements with a file\'s, all or nothing')
    .requiredOption('-f, --file <file>', 'entitlements file (YAML or JSON: an entitlements: list of { group, items })')
    .action(async (opts: { file: string }) => {
      const entitlements = readEntitlements(opts.file);
      const applied = await client().request<{ groups: string[] }>('PUT', '/v1/entitlements', { entitlements });
      print(applied, !!globals().json, () => (applied.groups.length ? `applied entitlements of ${applied.groups.join(', ')}` : 'no entitlements: persons do not limit mandates'));
    });
}
