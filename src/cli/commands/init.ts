import type { Command } from 'commander';
import { loadConfig } from '../../config/schema.ts';
import { cliConfigPath, writeCliConfig } from '../cli-config.ts';

export function initCommand(program: Command) {
  program
    .command('init')
    .description('create the data dir, master key, signing key, trust domain and first admin token')
    .option('--data-dir <dir>', 'data directory (MANDATE_DATA_DIR, default ./.mandate)')
    .option('--trust-domain <domain>', 'SPIFFE trust domain (MANDATE_TRUST_DOMAIN, default mandate.local)')
    .option('--host <host>', 'address the server will listen on, written to the CLI config')
    .option('--port <port>', 'port the server will listen on, written to the CLI config')
    .action(async (opts: { dataDir?: string; trustDomain?: string; host?: string; port?: string }) => {
      const config = loadConfig({
        dataDir: opts.dataDir,
        trustDomain: opts.trustDomain,
        host: opts.host,
        port: opts.port,
      });
      const { prepare } = await import('../../server/setup.ts');
      const prepared = await prepare(config);
      await prepared.store.close();
      const where = config.databaseUrl ? 'PostgreSQL' : `${config.dataDir}/mandate.db`;
      process.stdout.write(`Mandate initialized: store ${where}, trust domain ${prepared.trustDomain}\n`);
      if (!prepared.adminToken) {
        process.stdout.write('Already initialized: no new admin token was created.\n');
        return;
      }
      const host = config.host.includes(':') ? `[${config.host}]` : config.host;
      const file = writeCliConfig(
        { addr: `http://${host}:${config.port}`, token: prepared.adminToken },
        cliConfigPath({ ...process.env, MANDATE_DATA_DIR: config.dataDir }),
      );
      process.stdout.write(
        `Initial admin token (shown once, stored only as a hash):\n\n  ${prepared.adminToken}\n\n` +
          `CLI config written to ${file} (mode 0600).\n`,
      );
    });
}
