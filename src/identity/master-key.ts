import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { MandateError } from '../errors.ts';

/**
 * The master key encrypts every secret at rest (signing keys, broker secrets). It comes from
 * MANDATE_MASTER_KEY (base64, 32 bytes) or a key file created on first start with mode 0600.
 */
export interface MasterKey {
  /** Short, non-secret identifier recorded beside every sealed value (for rewrap after rotation). */
  readonly id: string;
  readonly bytes: Buffer;
}

export function masterKeyFrom(bytes: Buffer): MasterKey {
  if (bytes.length !== 32) throw new MandateError('ERR_MASTER_KEY', 'master key must be 32 bytes');
  const id = crypto
    .createHash('sha256')
    .update('mandate master key id\n')
    .update(bytes)
    .digest('hex')
    .slice(0, 16);
  return { id, bytes };
}

export function parseMasterKey(base64: string): MasterKey {
  return masterKeyFrom(Buffer.from(base64.trim(), 'base64'));
}

/** Load the key from the environment value or file; create the file (0600) when allowed and absent. */
export function loadMasterKey(options: { value?: string | undefined; file: string; create: boolean }): {
  key: MasterKey;
  created: boolean;
} {
  if (options.value) return { key: parseMasterKey(options.value), created: false };
  if (fs.existsSync(options.file)) {
    const mode = fs.statSync(options.file).mode & 0o077;
    if (mode !== 0) {
      throw new MandateError(
        'ERR_MASTER_KEY',
        `master key file ${options.file} is readable by others; chmod 600 it`,
      );
    }
    return { key: parseMasterKey(fs.readFileSync(options.file, 'utf8')), created: false };
  }
  if (!options.create) throw new MandateError('ERR_MASTER_KEY', `master key file ${options.file} not found`);
  fs.mkdirSync(path.dirname(options.file), { recursive: true, mode: 0o700 });
  const bytes = crypto.randomBytes(32);
  fs.writeFileSync(options.file, `${bytes.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  return { key: masterKeyFrom(bytes), created: true };
}
