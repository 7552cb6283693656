import type { Command } from 'commander';
import { loadConfig } from '../../config/schema.ts';
import { CliError } from '../client.ts';
import { cliConfigPath, readCliConfig, writeCliConfig } from '../cli-config.ts';

export function serveCommand(program: Command) {
  program
    .command('serve')
    .description('start Mandate (SQLite under the data dir unless MANDATE_DATABASE_URL is set)')
    .option('--host <host>', 'address to listen on (MANDATE_HOST, default 127.0.0.1)')
    .option('--port <port>', 'port to listen on (MANDATE_PORT, default 7470)')
    .option('--data-dir <dir>', 'data directory (MANDATE_DATA_DIR, default ./.mandate)')
    .action(async (opts: { host?: string; port?: string; dataDir?: string }) => {
      const config = loadConfig({ host: opts.host, port: opts.port, dataDir: opts.dataDir });
      // Loaded on demand so client commands start fast.
      const { startServer } = await import('../../server/serve.ts');
      const server = await startServer(config).catch((error: NodeJS.ErrnoException) => {
        throw bindFailure(error, config.host, config.port) ?? error;
      });
      if (server.adminToken) announceAdminToken(server.url, server.adminToken, config.dataDir);
      process.stderr.write(`Mandate listening on ${server.url} (store: ${server.ctx.store.dialect})\n`);
      process.stderr.write(`Console: ${server.url}/console/ (sign in with an operator token: mandate token create)\n`);
      const stop = (signal: string) => {
        process.stderr.write(`${signal} received: shutting down\n`);
        server.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
}

/** Show the first admin token once, and save it for the CLI unless a config already exists. */
export function announceAdminToken(url: string, token: string, dataDir: string) {
  const file = cliConfigPath({ ...process.env, MANDATE_DATA_DIR: dataDir });
  let saved = '';
  if (!readCliConfig(file))
    saved = `\nSaved for the CLI in ${writeCliConfig({ addr: url, token }, file)} (mode 0600).`;
  process.stderr.write(
    `\nInitial admin token (shown once, stored only as a hash):\n\n  ${token}\n${saved}\n` +
      'Use it with: export MANDATE_TOKEN=<token>\n\n',
  );
}

/** A port that cannot be bound, said plainly with the way out (nothing was created or spent). */
export function bindFailure(error: NodeJS.ErrnoException, host: string, port: number): CliError | undefined {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (error.code === 'EADDRINUSE')
    return new CliError(`cannot listen on ${where}: the port is already in use by another process`, 1, [
      'start on another port with --port <port> (or MANDATE_PORT); nothing was spent: a first start creates its admin token only once it listens',
    ]);
  if (error.code === 'EACCES')
    return new CliError(`cannot listen on ${where}: permission denied`, 1, ['ports below 1024 need privileges: choose another with --port <port> (or MANDATE_PORT)']);
  if (error.code === 'EADDRNOTAVAIL')
    return new CliError(`cannot listen on ${where}: no such address on this machine`, 1, ['choose an address of this machine with --host <host> (or MANDATE_HOST)']);
  return undefined;
}
