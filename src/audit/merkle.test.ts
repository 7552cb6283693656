import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, leafHash, MerkleLog, nodeHash, rangeRoot } from './merkle.ts';
import { CT_LEAVES, CT_ROOTS } from './testdata/ct-vectors.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

const EMPTY = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** MTH straight from the RFC 9162 §2.1.1 definition, as an oracle. */
function referenceRoot(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return createHash('sha256').digest();
  if (leaves.length === 1) return leaves[0]!;
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(referenceRoot(leaves.slice(0, k)), referenceRoot(leaves.slice(k)));
}

const syntheticLeaves = (n: number) => Array.from({ length: n }, (_, i) => leafHash(Buffer.from(`event ${i}`)));

describe('RFC 9162 Merkle tree hash', () => {
  it('hashes the empty tree as SHA-256 of nothing', () => {
    expect(hex(EMPTY_ROOT)).toBe(EMPTY);
    expect(hex(new MerkleLog().root())).toBe(EMPTY);
  });

  it('prefixes leaves with 0x00 and interior nodes with 0x01', () => {
    expect(hex(leafHash(Buffer.alloc(0)))).toBe(hex(createHash('sha256').update(Buffer.of(0)).digest()));
    const [a, b] = [leafHash(Buffer.of(1)), leafHash(Buffer.of(2))];
    expect(hex(nodeHash(a, b))).toBe(hex(createHash('sha256').update(Buffer.of(1)).update(a).update(b).digest()));
  });

  it('reproduces the certificate-transparency roots for every size from 1 to 8', () => {
    const log = new MerkleLog();
    CT_LEAVES.forEach((data, i) => {
      log.append(leafHash(data));
      expect(hex(log.root())).toBe(CT_ROOTS[i]);
    });
    const hashes = CT_LEAVES.map(leafHash);
    expect(hex(rangeRoot(0, 8, (i) => hashes[i]!))).toBe(CT_ROOTS[7]);
  });

  it('agrees with the recursive definition for every size up to 70', () => {
    const leaves = syntheticLeaves(70);
    const log = new MerkleLog();
    for (let n = 1; n <= leaves.length; n++) {
      expect(log.append(leaves[n - 1]!)).toBe(n - 1);
      expect(hex(log.root())).toBe(hex(referenceRoot(leaves.slice(0, n))));
    }
  });

  it('keeps one frontier hash per set bit of the size', () => {
    const log = new MerkleLog();
    for (const leaf of syntheticLeaves(13)) log.append(leaf);
    expect(log.frontier()).toHaveLength(3); // 13 = 8 + 4 + 1
    expect(hex(log.frontier()[0]!)).toBe(hex(referenceRoot(syntheticLeaves(8))));
  });

  it('restores from a saved frontier and keeps appending to the same roots', () => {
    const leaves = syntheticLeaves(40);
    const original = new MerkleLog();
    for (const leaf of leaves.slice(0, 27)) original.append(leaf);
    const restored = MerkleLog.restore(original.size, original.frontier());
    expect(hex(restored.root())).toBe(hex(original.root()));
    for (const leaf of leaves.slice(27)) restored.append(leaf);
    expect(hex(restored.root())).toBe(hex(referenceRoot(leaves)));
  });

  it('refuses a frontier that does not match its size, or a hash of the wrong length', () => {
    const log = new MerkleLog();
    for (const leaf of syntheticLeaves(5)) log.append(leaf);
    expect(() => MerkleLog.restore(7, log.frontier())).toThrow(expect.objectContaining({ code: 'ERR_MERKLE_RANGE' }));
    expect(() => MerkleLog.restore(4, log.frontier())).toThrow(expect.objectContaining({ code: 'ERR_MERKLE_RANGE' }));
    expect(() => log.append(Buffer.alloc(31))).toThrow(expect.objectContaining({ code: 'ERR_MERKLE_RANGE' }));
  });
});
