import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { configDefaults } from '../config/schema.ts';
import { CliError } from './errors.ts';

/**
 * Where the CLI finds the server: flags, then MANDATE_ADDR / MANDATE_TOKEN, then the config
 * file written by `mandate init` (MANDATE_CONFIG, default `<data dir>/cli.json`, mode 0600): its
 * live `mandate login` session first, else its token.
 */
const sessionSchema = z.object({ token: z.string().min(1), id: z.string().min(1), operator: z.string().min(1), roles: z.array(z.string()), expires_at: z.string().min(1) });
const fileSchema = z.object({ addr: z.string().url(), token: z.string().min(1).optional(), session: sessionSchema.optional() });
/** The operator session `mandate login` stored: used instead of the file's token until it expires or `mandate logout`. */
export type CliSession = z.infer<typeof sessionSchema>;
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

export interface Target {
  addr: string;
  token: string | undefined;
  /** The CLI config file consulted, and whether it exists (for a helpful message when it does not). */
  configFile: string;
  configFound: boolean;
}

export function resolveTarget(flags: { addr?: string | undefined; token?: string | undefined }, env = process.env): Target {
  const configFile = cliConfigPath(env);
  const file = flags.addr && flags.token ? undefined : readCliConfig(configFile);
  const addr =
    flags.addr ??
    env.MANDATE_ADDR ??
    file?.addr ??
    `http://${configDefaults.host}:${env.MANDATE_PORT || configDefaults.port}`;
  const session = file?.session && Date.parse(file.session.expires_at) > Date.now() ? file.session.token : undefined;
  const token = flags.token ?? env.MANDATE_TOKEN ?? session ?? file?.token;
  return { addr: normalizeAddr(addr), token, configFile, configFound: file !== undefined || fs.existsSync(configFile) };
}

/**
 * `--addr` / MANDATE_ADDR as a base URL: `127.0.0.1:7470` and `localhost:7470` mean http://…
 * (the server speaks plain HTTP unless a proxy in front of it terminates TLS); any other scheme
 * than http(s) is refused with the form expected.
 */
export function normalizeAddr(value: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`--addr ${JSON.stringify(value)} is not a server address`, 2, ['give it as http://host:port (e.g. http://127.0.0.1:7470) or host:port']);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`--addr ${JSON.stringify(value)}: Mandate is reached over http:// or https://, not ${url.protocol}//`, 2, ['give it as http://host:port (e.g. http://127.0.0.1:7470) or host:port']);
  return withScheme.replace(/\/+$/, '');
}

/** Where the CLI looked for its config, and the ways to point it at a server, when it found none. */
export function noConfigHint(target: Target): string[] {
  if (target.configFound) return [];
  return [
    `no CLI config found at ${target.configFile}`,
    'the CLI reads <data dir>/cli.json (written by mandate init / the first mandate serve); the data dir is ./.mandate in the working directory unless MANDATE_DATA_DIR says otherwise',
    'run the command from the folder you ran mandate init in, or set MANDATE_DATA_DIR (or MANDATE_CONFIG), or give --addr and --token (MANDATE_ADDR, MANDATE_TOKEN)',
  ];
}
