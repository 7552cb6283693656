// RFC 9162 §2.1.1 — Merkle Tree Hash (the RFC 6962 tree, SHA-256)
import { createHash, hash } from 'node:crypto';
import { MandateError } from '../errors.ts';

/** Gives the leaf hash at a 0-based index; the store implements it over its own rows. */
export type LeafAccessor = (index: number) => Uint8Array;

const LEAF_PREFIX = Buffer.of(0x00);
const NODE_PREFIX = Buffer.of(0x01);

/** MTH({}) = SHA-256 of the empty string. */
export const EMPTY_ROOT: Uint8Array = createHash('sha256').digest();

// One-shot hashing of one buffer is several times cheaper than a Hash object per node; the input
// buffers are reused because hashing copies nothing and finishes before returning.
const LEAF_INPUT = Buffer.alloc(33, LEAF_PREFIX[0]);
const NODE_INPUT = Buffer.alloc(65, NODE_PREFIX[0]);

/** MTH({d}) = SHA-256(0x00 || d): the hash of one leaf's data. */
export function leafHash(data: Uint8Array): Uint8Array {
  if (data.length === 32) {
    LEAF_INPUT.set(data, 1);
    return hash('sha256', LEAF_INPUT, 'buffer');
  }
  return hash('sha256', Buffer.concat([LEAF_PREFIX, data]), 'buffer');
}

/** SHA-256(0x01 || left || right): the hash of an interior node. */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length === 32 && right.length === 32) {
    NODE_INPUT.set(left, 1);
    NODE_INPUT.set(right, 33);
    return hash('sha256', NODE_INPUT, 'buffer');
  }
  return hash('sha256', Buffer.concat([NODE_PREFIX, left, right]), 'buffer');
}

// Inside the tree hashes are "binary" strings (one char per byte): a digest returned as a string
// costs a fraction of one returned as a Buffer, and verification hashes two per event.
const fromBytes = (h: Uint8Array) => Buffer.from(h.buffer, h.byteOffset, h.byteLength).toString('latin1');
const toBytes = (h: string): Uint8Array => Buffer.from(h, 'latin1');

function nodeOf(left: string, right: string): string {
  NODE_INPUT.write(left, 1, 32, 'latin1');
  NODE_INPUT.write(right, 33, 32, 'latin1');
  return hash('sha256', NODE_INPUT, 'binary');
}

/**
 * An append-only Merkle tree that keeps only its frontier: the roots of the perfect subtrees that
 * make up the current size, one per set bit, so appending and computing the root are O(log n).
 * The store persists `size` and `frontier()` and brings the tree back with `MerkleLog.restore`.
 */
export class MerkleLog {
  #size = 0;
  /** `#levels[h]` is the root of a perfect subtree of 2^h leaves when bit h of the size is set. */
  #levels: Array<string | undefined> = [];
  #root: Uint8Array | undefined;

  /** Rebuild from a size and its frontier, largest subtree first (as `frontier()` returns it). */
  static restore(size: number, frontier: readonly Uint8Array[]): MerkleLog {
    if (!Number.isSafeInteger(size) || size < 0) throw rangeError(`tree size ${size} is not valid`);
    const log = new MerkleLog();
    const pending = [...frontier];
    for (let h = 0, rest = size; rest > 0; h++, rest = Math.floor(rest / 2)) {
      if (rest % 2 === 1) log.#levels[h] = fromBytes(checkHash(pending.pop()));
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
    return this.#push(fromBytes(checkHash(leaf)));
  }

  /**
   * Append the leaf of an audit event, given its hash as 64 hex digits: MTH({hash bytes}).
   * Returns the leaf's index, or -1 (appending nothing) when the text is not 64 hex digits.
   */
  appendEventHash(hex: string): number {
    if (hex.length !== 64 || LEAF_INPUT.write(hex, 1, 32, 'hex') !== 32) return -1;
    return this.#push(hash('sha256', LEAF_INPUT, 'binary'));
  }

  #push(leaf: string): number {
    let carry = leaf;
    let h = 0;
    for (let rest = this.#size; rest % 2 === 1; rest = (rest - 1) / 2, h++) {
      carry = nodeOf(this.#levels[h] as string, carry);
      this.#levels[h] = undefined;
    }
    this.#levels[h] = carry;
    this.#root = undefined;
    return this.#size++;
  }

  /** MTH of all leaves so far: fold the frontier from the smallest subtree up (RFC 9162 §2.1.1). */
  root(): Uint8Array {
    if (this.#root) return this.#root;
    let root: string | undefined;
    for (const subtree of this.#levels) {
      if (subtree !== undefined) root = root === undefined ? subtree : nodeOf(subtree, root);
    }
    this.#root = root === undefined ? EMPTY_ROOT : toBytes(root);
    return this.#root;
  }

  /** Roots of the perfect subtrees covering the tree, largest first. */
  frontier(): Uint8Array[] {
    return this.#levels.filter((h): h is string => h !== undefined).reverse().map(toBytes);
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
  return new MandateError('ERR_MERKLE_RANGE', message);
}
