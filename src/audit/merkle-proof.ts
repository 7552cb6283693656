// RFC 9162 §2.1.3 and §2.1.4 — Merkle inclusion and consistency proofs
import { type LeafAccessor, nodeHash, rangeError, rangeRoot } from './merkle.ts';

/**
 * PATH(m, D[n]): the audit path proving leaf `index` is in the tree of `size` leaves, bottom-up.
 * @see https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.1
 */
export function inclusionProof(index: number, size: number, leafAt: LeafAccessor): Uint8Array[] {
  checkSize(size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw rangeError(`leaf ${index} is not in a tree of ${size} leaves`);
  }
  const proof: Uint8Array[] = [];
  const path = (m: number, start: number, n: number): void => {
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      path(m, start, k);
      proof.push(rangeRoot(start + k, n - k, leafAt));
    } else {
      path(m - k, start + k, n - k);
      proof.push(rangeRoot(start, k, leafAt));
    }
  };
  path(index, 0, size);
  return proof;
}

/**
 * PROOF(m, D[n]) = SUBPROOF(m, D[n], true): proves the tree of `first` leaves is a prefix of the
 * tree of `second` leaves. Empty when `first` is 0 or equals `second`.
 * @see https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.1
 */
export function consistencyProof(first: number, second: number, leafAt: LeafAccessor): Uint8Array[] {
  checkSize(first);
  checkSize(second);
  if (first > second) throw rangeError(`tree size ${first} is larger than ${second}`);
  const proof: Uint8Array[] = [];
  if (first === 0 || first === second) return proof;
  const subproof = (m: number, start: number, n: number, whole: boolean): void => {
    if (m === n) {
      if (!whole) proof.push(rangeRoot(start, n, leafAt));
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      subproof(m, start, k, whole);
      proof.push(rangeRoot(start + k, n - k, leafAt));
    } else {
      subproof(m - k, start + k, n - k, false);
      proof.push(rangeRoot(start, k, leafAt));
    }
  };
  subproof(first, 0, second, true);
  return proof;
}

/**
 * Does `proof` show `leaf` at `index` in the tree of `size` leaves whose root is `root`?
 * @see https://www.rfc-editor.org/rfc/rfc9162#section-2.1.3.2
 */
export function verifyInclusion(
  index: number,
  size: number,
  leaf: Uint8Array,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): boolean {
  // Step 1: the index must be inside the tree.
  if (!isSize(index) || !isSize(size) || index >= size) return false;
  if (!isHash(leaf) || !isHash(root) || !proof.every(isHash)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      r = nodeHash(r, p);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  return sn === 0 && sameHash(r, root);
}

/**
 * Does `proof` show the tree of `first` leaves (root `firstRoot`) is a prefix of the tree of
 * `second` leaves (root `secondRoot`)? Equal sizes need equal roots and an empty proof; size 0 is
 * a prefix of every tree.
 * @see https://www.rfc-editor.org/rfc/rfc9162#section-2.1.4.2
 */
export function verifyConsistency(
  first: number,
  second: number,
  firstRoot: Uint8Array,
  secondRoot: Uint8Array,
  proof: readonly Uint8Array[],
): boolean {
  if (!isSize(first) || !isSize(second) || first > second) return false;
  if (!isHash(firstRoot) || !isHash(secondRoot) || !proof.every(isHash)) return false;
  if (first === second) return proof.length === 0 && sameHash(firstRoot, secondRoot);
  if (first === 0) return proof.length === 0;
  // Step 1: a non-trivial proof is never empty.
  if (proof.length === 0) return false;
  // Step 2: when the first tree is a perfect subtree, the proof leaves out its root.
  const path = isPowerOfTwo(first) ? [firstRoot, ...proof] : [...proof];
  // Steps 3 and 4.
  let fn = first - 1;
  let sn = second - 1;
  while (fn % 2 === 1) [fn, sn] = [(fn - 1) / 2, Math.floor(sn / 2)];
  // Step 5.
  let fr = path[0] as Uint8Array;
  let sr = fr;
  // Step 6.
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) [fn, sn] = [fn / 2, Math.floor(sn / 2)];
    } else {
      sr = nodeHash(sr, c);
    }
    [fn, sn] = [Math.floor(fn / 2), Math.floor(sn / 2)];
  }
  // Step 7.
  return sn === 0 && sameHash(fr, firstRoot) && sameHash(sr, secondRoot);
}

/** The largest power of two smaller than n (n > 1): where RFC 9162 splits a tree. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

function checkSize(n: number): void {
  if (!isSize(n)) throw rangeError(`tree size ${n} is not valid`);
}

const isSize = (n: number) => Number.isSafeInteger(n) && n >= 0;
const isHash = (h: Uint8Array) => h instanceof Uint8Array && h.length === 32;
const sameHash = (a: Uint8Array, b: Uint8Array) => a.length === b.length && Buffer.compare(a, b) === 0;
