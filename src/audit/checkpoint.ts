// C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint) — signed Merkle tree heads of the audit log
import { MandateError } from '../errors.ts';
import { verifyConsistency } from './merkle-proof.ts';
import { type NoteSignature, type NoteSigner, type NoteVerifier, openNote, parseNote, signNote } from './note.ts';

export interface Checkpoint {
  /** Unique identity of the log, e.g. `mandate.example/audit`. */
  origin: string;
  /** Number of leaves in the tree. */
  size: number;
  /** RFC 9162 root hash of the tree at `size`. */
  rootHash: Uint8Array;
  /** Opaque extra lines; the spec advises against them because monitors cannot audit them. */
  extensions?: string[];
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const malformed = (message: string) => new MandateError('ERR_CHECKPOINT_MALFORMED', message);

/** The note text: origin, decimal size without leading zeros, base64 root hash, extension lines. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions = [] } = checkpoint;
  if (origin === '' || origin.includes('\n')) throw malformed('origin must be one non-empty line');
  if (!Number.isSafeInteger(size) || size < 0) throw malformed('tree size must be a non-negative integer');
  if (rootHash.length !== 32) throw malformed('root hash must be 32 bytes');
  if (extensions.some((line) => line === '' || line.includes('\n'))) {
    throw malformed('extension lines must be non-empty single lines');
  }
  const root = Buffer.from(rootHash).toString('base64');
  return [origin, String(size), root, ...extensions].map((line) => `${line}\n`).join('');
}

/** Format and sign a checkpoint; the log's key name should be its origin. */
export function signCheckpoint(checkpoint: Checkpoint, signer: NoteSigner): string {
  return signNote(formatCheckpoint(checkpoint), signer);
}

/**
 * Read a checkpoint without checking any signature, for display and triage only: the spec says
 * the text MUST be ignored until a trusted signature verifies. Use `verifyCheckpoint` to trust it.
 */
export function parseCheckpoint(note: string): Checkpoint & { signatures: NoteSignature[] } {
  const { text, signatures } = parseNote(note);
  return { ...parseBody(text), signatures };
}

/**
 * Verify the note's signature by a trusted key (several during a key rotation), then parse the
 * body; optionally pin the origin.
 */
export function verifyCheckpoint(
  note: string,
  trusted: NoteVerifier | readonly NoteVerifier[],
  options: { origin?: string } = {},
): Checkpoint {
  const { text } = openNote(note, Array.isArray(trusted) ? trusted : [trusted as NoteVerifier]);
  const checkpoint = parseBody(text);
  if (options.origin !== undefined && checkpoint.origin !== options.origin) {
    throw new MandateError('ERR_CHECKPOINT_ORIGIN_MISMATCH', `checkpoint is for ${checkpoint.origin}`);
  }
  return checkpoint;
}

/** Two verified checkpoints of one log at the same size with different roots: the log forked. */
export function isFork(a: Checkpoint, b: Checkpoint): boolean {
  return a.origin === b.origin && a.size === b.size && Buffer.compare(a.rootHash, b.rootHash) !== 0;
}

/**
 * Check that `newer` extends `older` with an RFC 9162 consistency proof ("a log MUST NOT sign
 * any checkpoint which is inconsistent with any checkpoint it previously signed").
 */
export function assertConsistent(older: Checkpoint, newer: Checkpoint, proof: readonly Uint8Array[]): void {
  if (older.origin !== newer.origin) {
    throw new MandateError('ERR_CHECKPOINT_ORIGIN_MISMATCH', 'checkpoints are from different logs');
  }
  if (isFork(older, newer)) {
    throw new MandateError('ERR_CHECKPOINT_FORK', `two roots signed for size ${older.size}`);
  }
  if (newer.size < older.size) {
    throw new MandateError('ERR_CHECKPOINT_ROLLBACK', `log shrank from ${older.size} to ${newer.size}`);
  }
  if (!verifyConsistency(older.size, newer.size, older.rootHash, newer.rootHash, proof)) {
    throw new MandateError('ERR_CHECKPOINT_INCONSISTENT', `size ${newer.size} does not extend size ${older.size}`);
  }
}

function parseBody(text: string): Checkpoint {
  const lines = text.slice(0, -1).split('\n');
  const [origin = '', size = '', root = '', ...extensions] = lines;
  if (lines.length < 3 || lines.some((line) => line === '')) throw malformed('checkpoint needs non-empty lines');
  if (!/^(?:0|[1-9][0-9]*)$/.test(size) || !Number.isSafeInteger(Number(size))) {
    throw malformed('tree size must be decimal without leading zeros');
  }
  const rootHash = BASE64.test(root) ? Buffer.from(root, 'base64') : Buffer.alloc(0);
  if (rootHash.length !== 32) throw malformed('root hash must be base64 of 32 bytes');
  return extensions.length > 0
    ? { origin, size: Number(size), rootHash, extensions }
    : { origin, size: Number(size), rootHash };
}
