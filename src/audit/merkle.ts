// RFC 9162 §2.1.1 — Merkle Tree Hash (the RFC 6962 tree, SHA-256)
import { createHash } from 'node:crypto';
import { MandateError } from '../errors.ts';

/** Gives the leaf hash at a 0-based index; the store implements it over its own rows. */
export type LeafAccessor = (index: number) => Uint8Array;

const LEAF_PREFIX = Buffer.of(0x00);
const NODE_PREFIX = Buffer.of(0x01);

/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = createHash('sha256').digest();

/** MTH({d}) = SHA-256(0x00 || d): the hash of one leaf's data. */
export function leafHash(data: Uint8Array): Uint8Array {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** SHA-256(0x01 || left || right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return createHash('sha256').update(NODE_PREFIX).update(left).update(right).digest();
}

/**
 * An append-only Merkle tree that keeps only its frontier: the roots of the perfect subtrees that
 * make up the current size, one per set bit, so appending and computing the root are O(log n).
 * The store persists `size` and `frontier()` and brings the tree back with `MerkleLog.restore`.
 */
export class MerkleLog {
  #size = 0;
  /** `#levels[h]` is the root of a perfect subtree of 2^h leaves when bit h of the size is set. */
  #levels: Array<Uint8Array | undefined> = [];
  #root: Uint8Array | undefined;

  /** Rebuild from a size and its frontier, largest subtree first (as `frontier()` returns it). */
  static restore(size: number, frontier: readonly Uint8Array[]): MerkleLog {
    if (!Number.isSafeInteger(size) || size < 0) throw rangeError(`tree size ${size} is not valid`);
    const log = new MerkleLog();
    const pending = [...frontier];
    for (let h = 0, rest = size; rest > 0; h++, rest = Math.floor(rest / 2)) {
      if (rest % 2 === 1) log.#levels[h] = checkHash(pending.pop());
    }
    if (pending.length > 0) throw rangeError(`frontier does not match tree size ${size}`);
    log.#size = size;
    return log;
  }

  get size(): number {
    return this.#size;
  }

  /** Append one leaf hash; returns its index. */
  append(leaf: Uint8Array): number {
    let carry = checkHash(leaf);
    let h = 0;
    for (let rest = this.#size; rest % 2 === 1; rest = (rest - 1) / 2, h++) {
      carry = nodeHash(this.#levels[h] as Uint8Array, carry);
      this.#levels[h] = undefined;
    }
    this.#levels[h] = carry;
    this.#root = undefined;
    return this.#size++;
  }

  /** MTH of all leaves so far: fold the frontier from the smallest subtree up (RFC 9162 §2.1.1). */
  root(): Uint8Array {
    if (this.#root) return this.#root;
    let root: Uint8Array | undefined;
    for (const subtree of this.#levels) {
      if (subtree) root = root ? nodeHash(subtree, root) : subtree;
    }
    this.#root = root ?? EMPTY_ROOT;
    return this.#root;
  }

  /** Roots of the perfect subtrees covering the tree, largest first. */
  frontier(): Uint8Array[] {
    return this.#levels.filter((h): h is Uint8Array => h !== undefined).reverse();
  }
}

/** MTH(D[start:start+count]), reading the leaves through `leafAt`. */
export function rangeRoot(start: number, count: number, leafAt: LeafAccessor): Uint8Array {
  const log = new MerkleLog();
  for (let i = 0; i < count; i++) log.append(leafAt(start + i));
  return log.root();
}

function checkHash(hash: Uint8Array | undefined): Uint8Array {
  if (!(hash instanceof Uint8Array) || hash.length !== 32) throw rangeError('a Merkle hash is 32 bytes');
  return hash;
}

export function rangeError(message: string): MandateError {
  return new MandateError('ERR_MERKLE_RANGE', message, { status: 400 });
}
