import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../config/schema.ts';
import { apiClient, CliError } from '../client.ts';
import { print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

/** Read a secret value from a file or stdin, never argv (which `ps` and shell history show). */
function readValue(file: string | undefined, keepNewline: boolean): string {
  let value: string;
  try {
    if (!file && process.stdin.isTTY) process.stderr.write('Enter the secret value, then Ctrl-D:\n');
    value = fs.readFileSync(file ?? 0, 'utf8');
  } catch (error) {
    throw new CliError(`cannot read ${file ?? 'stdin'}: ${(error as NodeJS.ErrnoException).code ?? 'read failed'}`);
  }
  if (!keepNewline) value = value.replace(/\r?\n$/, '');
  if (value.length === 0) throw new CliError('the secret value is empty', 2);
  return value;
}

export function secretCommand(program: Command) {
  const secret = program.command('secret').description('the broker and gateway secret store (values go in, never out)');
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  secret
    .command('set <name>')
    .description('store a secret read from stdin or --file (name/<person sub> for a per-person credential)')
    .argument('[value]', 'refused: a value on the command line is visible to other users (ps) and kept in shell history')
    .option('--file <path>', 'read the value from this file instead of stdin')
    .option('--keep-newline', 'keep a trailing newline (dropped by default)')
    .action(async (name: string, onArgv: string | undefined, opts: { file?: string; keepNewline?: boolean }) => {
      if (onArgv !== undefined) {
        throw new CliError('refused: a secret value on the command line is visible to other users (ps) and kept in shell history; nothing was stored', 2, [
          `pipe it instead: mandate secret set ${name} < file, or --file <path>, or type it after running mandate secret set ${name}`,
          'then clear it from your shell history',
        ]);
      }
      const value = readValue(opts.file, !!opts.keepNewline);
      const meta = await client().request<{ name: string; master_key_id: string }>('PUT', `/v1/secrets/${encodeURIComponent(name)}`, { value });
      print(meta, !!globals().json, () => `secret ${meta.name} stored (sealed under master key ${meta.master_key_id})`);
    });

  secret
    .command('list')
    .description('list secrets (metadata only)')
    .action(async () => {
      const { secrets } = await client().request<{ secrets: Array<Record<string, unknown>> }>('GET', '/v1/secrets');
      print(secrets, !!globals().json, () => table(secrets, ['name', 'master_key_id', 'updated_at']));
    });

  secret
    .command('delete <name>')
    .description('delete a secret')
    .action(async (name: string) => {
      await client().request('DELETE', `/v1/secrets/${encodeURIComponent(name)}`);
      print({ deleted: name }, !!globals().json, () => `deleted secret ${name}`);
    });

  secret
    .command('rewrap')
    .description('offline, server stopped: re-seal every secret and signing key under a new master key after a rotation')
    .requiredOption('--old-key <file>', 'the previous master key file')
    .requiredOption('--new-key <file>', 'the new master key file (start the server with it afterwards)')
    .option('--data-dir <dir>', 'data directory (MANDATE_DATA_DIR, default ./.mandate)')
    .action(async (opts: { oldKey: string; newKey: string; dataDir?: string }) => {
      const config = loadConfig({ dataDir: opts.dataDir });
      const { rewrapStore } = await import('../../broker/rewrap.ts');
      const moved = await rewrapStore(config, path.resolve(opts.oldKey), path.resolve(opts.newKey));
      print(moved, !!globals().json, () => `re-sealed ${moved.secrets} secret(s), ${moved.database_roles} database role password(s), ${moved.sink_keys} sink key(s) and ${moved.signing_keys} signing key(s) under master key ${moved.master_key_id}`);
    });
}
