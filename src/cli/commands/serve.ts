import type { Command } from 'commander';
import { loadConfig } from '../../config/schema.ts';
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
      const server = await startServer(config);
      if (server.adminToken) announceAdminToken(server.url, server.adminToken, config.dataDir);
      process.stderr.write(`Mandate listening on ${server.url} (store: ${server.ctx.store.dialect})\n`);
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
