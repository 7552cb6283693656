// Checks an audit event in the browser, independently of the server's own verdict: the event's
// hash over its RFC 8785 (JCS) form, its link to the previous event of its chain, the C2SP signed
// checkpoint (Ed25519 via WebCrypto) and the RFC 9162 inclusion proof of its leaf under that root.
import { api, type AuditItem } from './api.ts';

export type CheckStatus = 'pass' | 'fail' | 'skip';
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
}

const GENESIS = '0'.repeat(64);
const encoder = new TextEncoder();

/** RFC 8785 §3.2: members sorted by UTF-16 code units, ECMAScript numbers and strings, no whitespace. */
export function canonicalize(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`${value} is not a JSON number`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members = Object.keys(record)
      .sort()
      .filter((name) => record[name] !== undefined)
      .map((name) => `${JSON.stringify(name)}:${canonicalize(record[name])}`);
    return `{${members.join(',')}}`;
  }
  throw new Error(`${typeof value} is not a JSON value`);
}

const sha256 = async (bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
const fromHex = (text: string) => new Uint8Array((text.match(/../g) ?? []).map((h) => parseInt(h, 16)));
const fromBase64 = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Hex SHA-256 of the event's JCS with `hash` left out (src/audit/event.ts hashEvent). */
export async function eventHash(event: Record<string, unknown>): Promise<string> {
  return hex(await sha256(encoder.encode(canonicalize({ ...event, hash: undefined }))));
}

/** RFC 9162 §2.1.1: MTH({d}) = SHA-256(0x00 || d); nodes SHA-256(0x01 || left || right). */
const leafHash = (data: Uint8Array) => sha256(concat(Uint8Array.of(0), data));
const nodeHash = (left: Uint8Array, right: Uint8Array) => sha256(concat(Uint8Array.of(1), left, right));

/** RFC 9162 §2.1.3.2: the root an inclusion proof leads to, or undefined when it cannot. */
export async function rootFromInclusion(index: number, size: number, leaf: Uint8Array, proof: Uint8Array[]): Promise<Uint8Array | undefined> {
  if (index >= size) return undefined;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return undefined;
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : undefined;
}

interface SignedCheckpoint {
  origin: string;
  size: number;
  root: Uint8Array;
  keyId: string;
}

/**
 * C2SP signed-note and tlog-checkpoint: verify the note's Ed25519 signature by the verifier key
 * `<name>+<key id>+<base64(0x01 || key)>` (key id = SHA-256(name || 0x0A || 0x01 || key)[:4]).
 */
export async function openCheckpoint(note: string, vkey: string): Promise<SignedCheckpoint> {
  const [name = '', id = '', ...rest] = vkey.split('+');
  const material = fromBase64(rest.join('+'));
  if (!/^[0-9a-f]{8}$/.test(id) || material.length !== 33 || material[0] !== 1) throw new Error('the verifier key is not an Ed25519 note key');
  const expectedId = hex((await sha256(concat(encoder.encode(`${name}\n`), material))).slice(0, 4));
  if (expectedId !== id) throw new Error('the verifier key id does not match its key');
  const split = note.lastIndexOf('\n\n');
  if (split < 0 || !note.endsWith('\n')) throw new Error('the checkpoint has no signature block');
  const text = note.slice(0, split + 1);
  const key = await crypto.subtle.importKey('raw', material.slice(1), { name: 'Ed25519' }, false, ['verify']);
  let verified = false;
  for (const line of note.slice(split + 2, -1).split('\n')) {
    const match = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (!match || match[1] !== name) continue;
    const blob = fromBase64(match[2]!);
    if (hex(blob.slice(0, 4)) !== id) continue;
    if (!(await crypto.subtle.verify({ name: 'Ed25519' }, key, blob.slice(4), encoder.encode(text)))) throw new Error(`the signature by ${name} does not verify`);
    verified = true;
  }
  if (!verified) throw new Error(`the checkpoint carries no signature by ${name}`);
  const [origin = '', size = '', root = ''] = text.slice(0, -1).split('\n');
  const rootHash = fromBase64(root);
  if (!/^(0|[1-9][0-9]*)$/.test(size) || rootHash.length !== 32) throw new Error('the checkpoint body is malformed');
  return { origin, size: Number(size), root: rootHash, keyId: id };
}

const cursorBefore = (leaf: number) => btoa(`l${leaf}`).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** Run every check on one event of the trail and say what each found. */
export async function verifyInBrowser(item: AuditItem): Promise<Check[]> {
  const checks: Check[] = [];
  const event = item.event as Record<string, unknown> & { chain: string; seq: number; hash: string; prev_hash: string };

  const computed = await eventHash(event);
  checks.push(
    computed === event.hash
      ? { name: 'Event hash', status: 'pass', detail: `SHA-256 of the event's canonical JSON (RFC 8785) is ${computed.slice(0, 16)}…, as recorded` }
      : { name: 'Event hash', status: 'fail', detail: `the event's content hashes to ${computed.slice(0, 16)}… but it records ${event.hash.slice(0, 16)}…: it was changed after it was written` },
  );

  if (event.seq === 1) {
    checks.push({ name: 'Chain link', status: event.prev_hash === GENESIS ? 'pass' : 'fail', detail: event.prev_hash === GENESIS ? `first event of ${event.chain}: links to the genesis hash` : 'the first event of its chain does not link to the genesis hash' });
  } else {
    const page = await api<{ events: AuditItem[] }>('GET', `/v1/audit/events?${new URLSearchParams({ chain: event.chain, order: 'desc', limit: '1', cursor: cursorBefore(item.leaf_index) }).toString()}`);
    const previous = page.events[0]?.event as (Record<string, unknown> & { seq: number; hash: string }) | undefined;
    if (!previous || previous.seq !== event.seq - 1) {
      checks.push({ name: 'Chain link', status: 'fail', detail: `event ${event.seq - 1} of ${event.chain} is missing before this one` });
    } else {
      const previousHash = await eventHash(previous);
      const ok = previousHash === previous.hash && previous.hash === event.prev_hash;
      checks.push({ name: 'Chain link', status: ok ? 'pass' : 'fail', detail: ok ? `links to event ${previous.seq} of ${event.chain}, whose own hash verifies` : `does not link to an intact event ${previous.seq} of ${event.chain}` });
    }
  }

  const listing = await api<{ origin: string; vkey: string; checkpoints: Array<{ size: number; note: string }> }>('GET', '/v1/audit/checkpoints?limit=1');
  const latest = listing.checkpoints[0];
  if (!latest) {
    checks.push({ name: 'Signed checkpoint', status: 'skip', detail: 'no checkpoint has been signed yet' });
    return checks;
  }
  let checkpoint: SignedCheckpoint;
  try {
    checkpoint = await openCheckpoint(latest.note, listing.vkey);
    if (checkpoint.origin !== listing.origin) throw new Error(`the checkpoint is for ${checkpoint.origin}, not ${listing.origin}`);
    checks.push({ name: 'Signed checkpoint', status: 'pass', detail: `Ed25519 signature by ${listing.origin} (key ${checkpoint.keyId}) verifies over tree size ${checkpoint.size}` });
  } catch (error) {
    checks.push({ name: 'Signed checkpoint', status: 'fail', detail: (error as Error).message });
    return checks;
  }

  if (item.leaf_index >= checkpoint.size) {
    checks.push({ name: 'Inclusion proof', status: 'skip', detail: `leaf ${item.leaf_index} is newer than the latest checkpoint (size ${checkpoint.size}); sign a checkpoint, then verify again` });
    return checks;
  }
  const proof = await api<{ proof: string[] }>('GET', `/v1/audit/proof/inclusion?index=${item.leaf_index}&size=${checkpoint.size}`);
  // The leaf is computed here from the event hash this page computed, not the server's.
  const leaf = await leafHash(fromHex(computed));
  const root = await rootFromInclusion(item.leaf_index, checkpoint.size, leaf, proof.proof.map(fromBase64));
  const included = root !== undefined && equal(root, checkpoint.root);
  checks.push({
    name: 'Inclusion proof',
    status: included ? 'pass' : 'fail',
    detail: included
      ? `leaf ${item.leaf_index} with ${proof.proof.length} proof hashes leads to the signed root of size ${checkpoint.size} (RFC 9162)`
      : `leaf ${item.leaf_index} does not lead to the signed root of size ${checkpoint.size}: the event is not the one the log committed to`,
  });
  return checks;
}
