import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/harness.ts';
import { loadMasterKey, masterKeyFrom } from './master-key.ts';
import { seal, unseal } from './seal.ts';

const key = masterKeyFrom(crypto.randomBytes(32));

describe('sealing secrets under the master key', () => {
  it('opens what it sealed, and the sealed text holds no plaintext', () => {
    const sealed = seal(key, 'ghp_supersecret', 'secret:github');
    expect(sealed).not.toContain('supersecret');
    expect(sealed.split('.')[1]).toBe(key.id);
    expect(unseal(key, sealed, 'secret:github').toString()).toBe('ghp_supersecret');
  });

  it('refuses a value moved to another place, a tampered one, and one sealed under another key', () => {
    const sealed = seal(key, 'value', 'secret:a');
    expect(() => unseal(key, sealed, 'secret:b')).toThrowError(
      expect.objectContaining({ code: 'ERR_SEALED_INTEGRITY' }),
    );
    const parts = sealed.split('.');
    parts[3] = Buffer.from('x').toString('base64url') + parts[3]!.slice(2);
    expect(() => unseal(key, parts.join('.'), 'secret:a')).toThrowError(
      expect.objectContaining({ code: 'ERR_SEALED_INTEGRITY' }),
    );
    const other = masterKeyFrom(crypto.randomBytes(32));
    expect(() => unseal(other, sealed, 'secret:a')).toThrowError(
      expect.objectContaining({ code: 'ERR_SEALED_KEY' }),
    );
  });
});

describe('the master key file', () => {
  it('is created once with mode 0600 and read back the same', () => {
    const file = path.join(tempDir(), 'master.key');
    const created = loadMasterKey({ file, create: true });
    expect(created.created).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(loadMasterKey({ file, create: true }).key.id).toBe(created.key.id);
  });

  it('is refused when others can read it, and when it has the wrong length', () => {
    const file = path.join(tempDir(), 'master.key');
    loadMasterKey({ file, create: true });
    fs.chmodSync(file, 0o644);
    expect(() => loadMasterKey({ file, create: false })).toThrowError(/readable by others/);
    expect(() =>
      loadMasterKey({ value: Buffer.alloc(16).toString('base64'), file, create: false }),
    ).toThrowError(/32 bytes/);
  });
});
