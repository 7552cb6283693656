import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { SavedInstance } from '../../sdk/runtime.ts';

/**
 * Where `mandate mcp-proxy` keeps its instance identity (it holds the instance's private key):
 * `--identity` / MANDATE_IDENTITY_FILE when given; else under the data directory when
 * MANDATE_DATA_DIR is set; else the user's state directory ($XDG_STATE_HOME/mandate, by default
 * ~/.local/state/mandate). Never the working directory, which is often a shared project folder.
 */
export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.MANDATE_DATA_DIR) return path.resolve(env.MANDATE_DATA_DIR);
  const xdg = env.XDG_STATE_HOME && path.isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : path.join(env.HOME || os.homedir(), '.local', 'state');
  return path.join(xdg, 'mandate');
}

/** One identity per agent and Mandate server: `<state dir>/identities/<agent>@<host>_<port>.json`. */
export function identityPath(input: { explicit?: string | undefined; agent: string | undefined; base: string }, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (input.explicit) return path.resolve(input.explicit);
  if (!input.agent) return undefined;
  const where = new URL(input.base).host.replace(/[^A-Za-z0-9.-]/g, '_');
  const name = `${input.agent.replace(/[^A-Za-z0-9._-]/g, '_')}@${where}.json`;
  return path.join(stateDir(env), 'identities', name);
}

export function readIdentity(file: string, warn: (line: string) => void): SavedInstance | undefined {
  if (!fs.existsSync(file)) return undefined;
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    // Like ssh with a private key: tighten rather than keep using a key others can read.
    fs.chmodSync(file, 0o600);
    warn(`identity file ${file} was readable by others (mode ${mode.toString(8)}); set to 0600`);
  }
  return JSON.parse(fs.readFileSync(file, 'utf8')) as SavedInstance;
}

export function writeIdentity(file: string, saved: SavedInstance) {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.writeFileSync(file, `${JSON.stringify(saved)}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}
