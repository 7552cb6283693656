import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configDefaults } from '../config/schema.ts';

/**
 * Where the CLI finds the server: flags, then MANDATE_ADDR / MANDATE_TOKEN, then the config
 * file written by `mandate init` (MANDATE_CONFIG, default `<data dir>/cli.json`, mode 0600).
 */
const fileSchema = z.object({ addr: z.string().url(), token: z.string().min(1) });
export type CliConfigFile = z.infer<typeof fileSchema>;

export function cliConfigPath(env = process.env): string {
  if (env.MANDATE_CONFIG) return path.resolve(env.MANDATE_CONFIG);
  return path.resolve(env.MANDATE_DATA_DIR || configDefaults.dataDir, 'cli.json');
}

export function readCliConfig(file = cliConfigPath()): CliConfigFile | undefined {
  if (!fs.existsSync(file)) return undefined;
  const parsed = fileSchema.safeParse(JSON.parse(fs.readFileSync(file, 'utf8')));
  if (!parsed.success)
    throw new Error(`CLI config ${file} is invalid; run mandate init or set MANDATE_ADDR and MANDATE_TOKEN`);
  return parsed.data;
}

export function writeCliConfig(value: CliConfigFile, file = cliConfigPath()): string {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

export function resolveTarget(
  flags: { addr?: string | undefined; token?: string | undefined },
  env = process.env,
): { addr: string; token: string | undefined } {
  const file = flags.addr && flags.token ? undefined : readCliConfig(cliConfigPath(env));
  const addr =
    flags.addr ??
    env.MANDATE_ADDR ??
    file?.addr ??
    `http://${configDefaults.host}:${env.MANDATE_PORT || configDefaults.port}`;
  const token = flags.token ?? env.MANDATE_TOKEN ?? file?.token;
  return { addr: addr.replace(/\/+$/, ''), token };
}
