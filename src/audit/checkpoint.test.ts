import { describe, expect, it } from 'vitest';
import {
  assertConsistent,
  type Checkpoint,
  formatCheckpoint,
  isFork,
  parseCheckpoint,
  signCheckpoint,
  verifyCheckpoint,
} from './checkpoint.ts';
import { leafHash, MerkleLog } from './merkle.ts';
import { consistencyProof } from './merkle-proof.ts';
import { encodeVerifierKey, parseVerifierKey, signNote } from './note.ts';
import { keyPairFromSeed, seed } from './testdata/keys.ts';

const ORIGIN = 'mandate.example/audit';
const logKey = keyPairFromSeed(seed(1));
const signer = { name: ORIGIN, privateKey: logKey.privateKey };
const verifier = { name: ORIGIN, publicKey: logKey.publicKey };

const leaves = Array.from({ length: 20 }, (_, i) => leafHash(Buffer.from(`event ${i}`)));
const checkpointAt = (size: number, source = leaves): Checkpoint => {
  const log = new MerkleLog();
  for (const leaf of source.slice(0, size)) log.append(leaf);
  return { origin: ORIGIN, size, rootHash: log.root() };
};

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('C2SP tlog checkpoints', () => {
  const head = checkpointAt(13);
  const signed = signCheckpoint(head, signer);
  const root = Buffer.from(head.rootHash).toString('base64');

  it('writes origin, decimal size and base64 root, then the signature block', () => {
    const [body, signature] = signed.split('\n\n');
    expect(`${body}\n`).toBe(`${ORIGIN}\n13\n${root}\n`);
    expect(signature).toMatch(/^— mandate\.example\/audit [A-Za-z0-9+/]{91}=\n$/);
  });

  it('verifies what it signed and gives back the same tree head', () => {
    expect(verifyCheckpoint(signed, verifier, { origin: ORIGIN })).toEqual(head);
  });

  it('verifies through the verifier key string an operator would configure', () => {
    const vkey = encodeVerifierKey(ORIGIN, logKey.publicKey);
    expect(verifyCheckpoint(signed, parseVerifierKey(vkey)).size).toBe(13);
  });

  it('verifies with any of several trusted keys, as during a key rotation', () => {
    const retired = { name: ORIGIN, publicKey: keyPairFromSeed(seed(4)).publicKey };
    expect(verifyCheckpoint(signed, [retired, verifier]).size).toBe(13);
  });

  it('carries extension lines', () => {
    const withExtension = signCheckpoint({ ...head, extensions: ['chain instance:i-7f3a'] }, signer);
    expect(verifyCheckpoint(withExtension, verifier).extensions).toEqual(['chain instance:i-7f3a']);
  });

  it('refuses a tampered tree size', () => {
    expect(codeOf(() => verifyCheckpoint(signed.replace('\n13\n', '\n14\n'), verifier))).toBe(
      'ERR_NOTE_SIGNATURE_INVALID',
    );
  });

  it('refuses a tampered root hash', () => {
    const other = Buffer.from(checkpointAt(12).rootHash).toString('base64');
    expect(codeOf(() => verifyCheckpoint(signed.replace(root, other), verifier))).toBe('ERR_NOTE_SIGNATURE_INVALID');
  });

  it('refuses a tampered signature', () => {
    const sig = signed.split(' ').at(-1) as string;
    const flipped = Buffer.from(sig, 'base64');
    flipped[10] = (flipped[10] as number) ^ 1;
    expect(codeOf(() => verifyCheckpoint(signed.replace(sig, `${flipped.toString('base64')}\n`), verifier))).toBe(
      'ERR_NOTE_SIGNATURE_INVALID',
    );
  });

  it('refuses a checkpoint signed by another key, even under the same name', () => {
    const other = keyPairFromSeed(seed(2));
    const forged = signCheckpoint(head, { name: ORIGIN, privateKey: other.privateKey });
    expect(codeOf(() => verifyCheckpoint(forged, verifier))).toBe('ERR_NOTE_UNVERIFIED');
  });

  it('accepts witness cosignatures next to the log signature', () => {
    const witness = keyPairFromSeed(seed(3));
    const cosignature = signCheckpoint(head, { name: 'witness.example', privateKey: witness.privateKey });
    const both = signed + cosignature.split('\n\n')[1];
    expect(parseCheckpoint(both).signatures.map((s) => s.name)).toEqual([ORIGIN, 'witness.example']);
    expect(verifyCheckpoint(both, verifier)).toEqual(head);
  });

  it('refuses a checkpoint of another log when the origin is pinned', () => {
    const foreign = signCheckpoint({ ...head, origin: 'other.example/log' }, signer);
    expect(codeOf(() => verifyCheckpoint(foreign, verifier, { origin: ORIGIN }))).toBe(
      'ERR_CHECKPOINT_ORIGIN_MISMATCH',
    );
  });

  it.each([
    ['a size with a leading zero', `${ORIGIN}\n013\n${root}\n`],
    ['a negative size', `${ORIGIN}\n-1\n${root}\n`],
    ['a root that is not 32 bytes', `${ORIGIN}\n13\nAAAA\n`],
    ['a missing root line', `${ORIGIN}\n13\n`],
    ['an empty extension line', `${ORIGIN}\n13\n${root}\n\next\n`],
  ])('refuses a validly signed body with %s', (_, body) => {
    expect(codeOf(() => verifyCheckpoint(signNote(body, signer), verifier))).toBe('ERR_CHECKPOINT_MALFORMED');
  });

  it('refuses to format a checkpoint that could not be parsed back', () => {
    expect(codeOf(() => formatCheckpoint({ ...head, origin: '' }))).toBe('ERR_CHECKPOINT_MALFORMED');
    expect(codeOf(() => formatCheckpoint({ ...head, size: 1.5 }))).toBe('ERR_CHECKPOINT_MALFORMED');
    expect(codeOf(() => formatCheckpoint({ ...head, rootHash: new Uint8Array(31) }))).toBe(
      'ERR_CHECKPOINT_MALFORMED',
    );
  });
});

describe('split-view detection', () => {
  const forkedLeaves = leaves.map((leaf, i) => (i === 9 ? leafHash(Buffer.from('rewritten')) : leaf));

  it('flags two checkpoints with one size and two roots as a fork', () => {
    const honest = verifyCheckpoint(signCheckpoint(checkpointAt(13), signer), verifier);
    const forked = verifyCheckpoint(signCheckpoint(checkpointAt(13, forkedLeaves), signer), verifier);
    expect(isFork(honest, forked)).toBe(true);
    expect(isFork(honest, honest)).toBe(false);
    expect(isFork(honest, checkpointAt(14))).toBe(false);
    expect(codeOf(() => assertConsistent(honest, forked, []))).toBe('ERR_CHECKPOINT_FORK');
  });

  it('accepts a later checkpoint with a valid consistency proof', () => {
    const proof = consistencyProof(8, 20, (i) => leaves[i]!);
    expect(() => assertConsistent(checkpointAt(8), checkpointAt(20), proof)).not.toThrow();
  });

  it('refuses a later checkpoint whose history was rewritten', () => {
    const proof = consistencyProof(13, 20, (i) => forkedLeaves[i]!);
    expect(codeOf(() => assertConsistent(checkpointAt(13), checkpointAt(20, forkedLeaves), proof))).toBe(
      'ERR_CHECKPOINT_INCONSISTENT',
    );
  });

  it('refuses a log that shrank', () => {
    expect(codeOf(() => assertConsistent(checkpointAt(13), checkpointAt(8), []))).toBe('ERR_CHECKPOINT_ROLLBACK');
  });
});
