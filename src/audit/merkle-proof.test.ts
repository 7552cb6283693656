import { describe, expect, it } from 'vitest';
import { leafHash, MerkleLog } from './merkle.ts';
import { consistencyProof, inclusionProof, verifyConsistency, verifyInclusion } from './merkle-proof.ts';
import { CT_LEAVES, CT_ROOTS } from './testdata/ct-vectors.ts';

const h = (s: string) => Buffer.from(s, 'hex');
const hex = (proof: Uint8Array[]) => proof.map((p) => Buffer.from(p).toString('hex'));
const leaves = CT_LEAVES.map(leafHash);
const at = (i: number) => leaves[i]!;
const root = (size: number) => h(CT_ROOTS[size - 1]!);

// transparency-dev/merkle proof/verify_test.go, with its 1-based leaf numbers made 0-based.
const INCLUSION: Array<{ index: number; size: number; proof: string[] }> = [
  { index: 0, size: 1, proof: [] },
  {
    index: 0,
    size: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    index: 5,
    size: 8,
    proof: [
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  { index: 2, size: 3, proof: ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'] },
  {
    index: 1,
    size: 5,
    proof: [
      '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
];

const CONSISTENCY: Array<{ first: number; second: number; proof: string[] }> = [
  { first: 1, second: 1, proof: [] },
  {
    first: 1,
    second: 8,
    proof: [
      '96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
    ],
  },
  {
    first: 6,
    second: 8,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
  {
    first: 2,
    second: 5,
    proof: [
      '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
      'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b',
    ],
  },
  {
    first: 6,
    second: 7,
    proof: [
      '0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
      'b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f',
      'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
    ],
  },
];

const flip = (proof: Uint8Array[], i: number) =>
  proof.map((p, j) => (j === i ? Buffer.from(p).map((b, k) => (k === 0 ? b ^ 8 : b)) : p));
const someHash = h('abacaba000000000000000000000000000000000000000000060061e00123456');

describe('RFC 9162 inclusion proofs', () => {
  it.each(INCLUSION)('builds the reference audit path for leaf $index of $size', ({ index, size, proof }) => {
    expect(hex(inclusionProof(index, size, at))).toEqual(proof);
  });

  it.each(INCLUSION)('verifies the reference audit path for leaf $index of $size', ({ index, size, proof }) => {
    expect(verifyInclusion(index, size, at(index), proof.map(h), root(size))).toBe(true);
  });

  it.each(INCLUSION.filter((v) => v.proof.length > 0))(
    'rejects every corruption of the audit path for leaf $index of $size',
    ({ index, size, proof: hexProof }) => {
      const proof = hexProof.map(h);
      const leaf = at(index);
      const probes: Array<[number, number, Uint8Array, Uint8Array[], Uint8Array]> = [
        [index - 1, size, leaf, proof, root(size)],
        [index + 1, size, leaf, proof, root(size)],
        [index ^ 2, size, leaf, proof, root(size)],
        [index, size * 2, leaf, proof, root(size)],
        [index, Math.floor(size / 2), leaf, proof, root(size)],
        [index, size, leafHash(Buffer.from('WrongLeaf')), proof, root(size)],
        [index, size, leaf, proof, someHash],
        [index, size, leaf, [...proof, root(size)], root(size)],
        [index, size, leaf, [root(size), ...proof], root(size)],
        [index, size, leaf, [...proof, Buffer.alloc(0)], root(size)],
        [index, size, leaf, proof.slice(0, -1), root(size)],
        [index, size, leaf, [proof[0]!, someHash, ...proof.slice(1)], root(size)],
        ...proof.map((_, i): [number, number, Uint8Array, Uint8Array[], Uint8Array] => [
          index,
          size,
          leaf,
          flip(proof, i),
          root(size),
        ]),
      ];
      for (const [i, n, l, p, r] of probes) expect(verifyInclusion(i, n, l, p, r)).toBe(false);
    },
  );

  it('refuses to build a proof for a leaf outside the tree', () => {
    expect(() => inclusionProof(8, 8, at)).toThrow(expect.objectContaining({ code: 'ERR_MERKLE_RANGE' }));
    expect(() => inclusionProof(-1, 8, at)).toThrow(expect.objectContaining({ code: 'ERR_MERKLE_RANGE' }));
  });
});

describe('RFC 9162 consistency proofs', () => {
  it.each(CONSISTENCY)('builds the reference proof from $first to $second', ({ first, second, proof }) => {
    expect(hex(consistencyProof(first, second, at))).toEqual(proof);
  });

  it.each(CONSISTENCY)('verifies the reference proof from $first to $second', ({ first, second, proof }) => {
    expect(verifyConsistency(first, second, root(first), root(second), proof.map(h))).toBe(true);
  });

  it.each(CONSISTENCY.filter((v) => v.proof.length > 0))(
    'rejects every corruption of the proof from $first to $second',
    ({ first, second, proof: hexProof }) => {
      const proof = hexProof.map(h);
      const [r1, r2] = [root(first), root(second)];
      const probes: Array<[number, number, Uint8Array, Uint8Array, Uint8Array[]]> = [
        [first - 1, second, r1, r2, proof],
        [first + 1, second, r1, r2, proof],
        [first ^ 2, second, r1, r2, proof],
        [first, second * 2, r1, r2, proof],
        [first, Math.floor(second / 2), r1, r2, proof],
        [first, second, someHash, r2, proof],
        [first, second, r1, someHash, proof],
        [first, second, r2, r1, proof],
        [first, second, r1, r2, []],
        [first, second, r1, r2, [...proof, r1]],
        [first, second, r1, r2, [...proof, r2]],
        [first, second, r1, r2, [r1, ...proof]],
        [first, second, r1, r2, [r2, ...proof]],
        [first, second, r1, r2, [proof[0]!, ...proof]],
        [first, second, r1, r2, proof.slice(0, -1)],
        ...proof.map((_, i): [number, number, Uint8Array, Uint8Array, Uint8Array[]] => [
          first,
          second,
          r1,
          r2,
          flip(proof, i),
        ]),
      ];
      for (const [m, n, a, b, p] of probes) expect(verifyConsistency(m, n, a, b, p)).toBe(false);
    },
  );

  it('treats equal sizes as consistent only with equal roots and an empty proof', () => {
    expect(verifyConsistency(3, 3, root(3), root(3), [])).toBe(true);
    expect(verifyConsistency(3, 3, root(3), root(4), [])).toBe(false);
    expect(verifyConsistency(3, 3, root(3), root(3), [root(1)])).toBe(false);
    expect(verifyConsistency(0, 5, someHash, root(5), [])).toBe(true);
    expect(verifyConsistency(0, 5, someHash, root(5), [root(1)])).toBe(false);
    expect(verifyConsistency(5, 4, root(5), root(4), [root(1)])).toBe(false);
  });

  it('refuses to build a proof back in time', () => {
    expect(() => consistencyProof(5, 4, at)).toThrow(expect.objectContaining({ code: 'ERR_MERKLE_RANGE' }));
  });
});

describe('proofs over larger logs', () => {
  const many = Array.from({ length: 33 }, (_, i) => leafHash(Buffer.from([i, i * 7])));
  const roots = [new MerkleLog().root()];
  const log = new MerkleLog();
  for (const leaf of many) {
    log.append(leaf);
    roots.push(log.root());
  }
  const get = (i: number) => many[i]!;

  it('proves every leaf in every tree size, and no leaf at a neighbour index', () => {
    for (let size = 1; size <= many.length; size++) {
      for (let index = 0; index < size; index++) {
        const proof = inclusionProof(index, size, get);
        expect(verifyInclusion(index, size, get(index), proof, roots[size]!)).toBe(true);
        if (size > 1) expect(verifyInclusion((index + 1) % size, size, get(index), proof, roots[size]!)).toBe(false);
      }
    }
  });

  it('proves every earlier tree a prefix of every later one', () => {
    for (let second = 1; second <= many.length; second++) {
      for (let first = 0; first <= second; first++) {
        const proof = consistencyProof(first, second, get);
        expect(verifyConsistency(first, second, roots[first]!, roots[second]!, proof)).toBe(true);
      }
    }
  });

  it('cannot prove consistency with a log whose history was rewritten', () => {
    const forked = [...many.slice(0, 20), leafHash(Buffer.from('forged')), ...many.slice(21)];
    const forkedLog = new MerkleLog();
    for (const leaf of forked) forkedLog.append(leaf);
    const proof = consistencyProof(21, 33, (i) => forked[i]!);
    expect(verifyConsistency(21, 33, roots[21]!, forkedLog.root(), proof)).toBe(false);
  });
});
