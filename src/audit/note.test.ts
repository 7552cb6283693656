import { describe, expect, it } from 'vitest';
import { encodeVerifierKey, keyId, openNote, parseNote, parseVerifierKey, signNote } from './note.ts';
import { keyPairFromSeed, seed } from './testdata/keys.ts';

// The example of golang.org/x/mod/sumdb/note (note.go doc and note_test.go): the skey's base64 is
// 0x01 || the Ed25519 seed.
const GO_SKEY_SEED = Buffer.from('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz', 'base64').subarray(1);
const GO_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const GO_TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE = `${GO_TEXT}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n`;

const peter = keyPairFromSeed(GO_SKEY_SEED);
const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('C2SP signed notes', () => {
  it('derives the key ID and verifier key of the Go reference implementation', () => {
    expect(keyId('PeterNeumann', peter.publicKey).toString('hex')).toBe('c74f20a3');
    expect(encodeVerifierKey('PeterNeumann', peter.publicKey)).toBe(GO_VKEY);
  });

  it('signs the Go reference note byte for byte', () => {
    expect(signNote(GO_TEXT, { name: 'PeterNeumann', privateKey: peter.privateKey })).toBe(GO_NOTE);
  });

  it('opens the Go reference note with its parsed verifier key', () => {
    expect(openNote(GO_NOTE, [parseVerifierKey(GO_VKEY)])).toEqual({ text: GO_TEXT, signedBy: ['PeterNeumann'] });
  });

  it('rejects the note when a trusted signature does not verify', () => {
    const altered = GO_NOTE.replace('cryptography', 'cryptographY');
    expect(codeOf(() => openNote(altered, [parseVerifierKey(GO_VKEY)]))).toBe('ERR_NOTE_SIGNATURE_INVALID');
  });

  it('ignores signatures from unknown keys, even under a known name', () => {
    const impostor = keyPairFromSeed(seed(9));
    const cosigned = signNote(GO_TEXT, { name: 'PeterNeumann', privateKey: impostor.privateKey }).replace(
      GO_TEXT,
      GO_NOTE.slice(0, -1),
    );
    expect(parseNote(cosigned).signatures).toHaveLength(2);
    expect(openNote(cosigned, [parseVerifierKey(GO_VKEY)]).signedBy).toEqual(['PeterNeumann']);
    expect(codeOf(() => openNote(GO_NOTE, [{ name: 'PeterNeumann', publicKey: impostor.publicKey }]))).toBe(
      'ERR_NOTE_UNVERIFIED',
    );
  });

  it.each([
    ['no blank line before the signatures', GO_NOTE.replace('\n\n', '\n')],
    ['no final newline', GO_NOTE.slice(0, -1)],
    ['a control character', GO_NOTE.replace('answer', 'ans\twer')],
    ['a signature line without the em dash', GO_NOTE.replace('— ', '- ')],
    ['a signature that is not base64', GO_NOTE.replace('x08go/', 'x08go_')],
    ['a signature too short to hold a key ID', `${GO_TEXT}\n— PeterNeumann AAAA\n`],
  ])('refuses a note with %s as malformed', (_, note) => {
    expect(codeOf(() => openNote(note, [parseVerifierKey(GO_VKEY)]))).toBe('ERR_NOTE_MALFORMED');
  });

  it('refuses to sign text without a final newline', () => {
    expect(codeOf(() => signNote('no newline', { name: 'k', privateKey: peter.privateKey }))).toBe(
      'ERR_NOTE_MALFORMED',
    );
  });

  it.each([
    ['an empty name', ''],
    ['a name with a space', 'mandate audit'],
    ['a name with a plus', 'mandate+audit'],
  ])('refuses a key with %s', (_, name) => {
    expect(codeOf(() => encodeVerifierKey(name, peter.publicKey))).toBe('ERR_NOTE_KEY_INVALID');
  });

  it('refuses verifier keys that are mangled or whose ID does not match', () => {
    expect(codeOf(() => parseVerifierKey(GO_VKEY.replace('c74f20a3', 'c74f20a4')))).toBe('ERR_NOTE_KEY_INVALID');
    expect(codeOf(() => parseVerifierKey(GO_VKEY.slice(0, -4)))).toBe('ERR_NOTE_KEY_INVALID');
    expect(codeOf(() => parseVerifierKey('PeterNeumann'))).toBe('ERR_NOTE_KEY_INVALID');
  });

  it('refuses keys that are not Ed25519', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const p256 = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(codeOf(() => keyId('k', p256.publicKey))).toBe('ERR_NOTE_KEY_INVALID');
  });
});
