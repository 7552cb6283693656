import { MandateError } from '../errors.ts';
import type { MasterKey } from '../identity/master-key.ts';
import { seal, sealedKeyId, unseal } from '../identity/seal.ts';
import { deleteSink, findSink, insertSink, listSinks, pendingOf, sealedSecret, sealedSinkKeys, setSinkKeySealed, setSinkPaused, type SinkRow } from '../store/notify-sinks.ts';
import type { Queryable } from '../store/store.ts';
import { checkKeyChoice, checkSinkUrl, type SinkFormat, type SinkSpec } from './sink-spec.ts';

/**
 * Notification sinks as operators see them. The signing key goes in sealed (AES-256-GCM under
 * the master key, the sink's name as associated data) or as the name of a stored secret, and
 * never comes out: views carry only which of the two it is.
 */
export interface SinkView {
  name: string;
  /** Origin and first path segment only (see displayUrl). */
  url: string;
  format: SinkFormat;
  events: string[];
  key: 'sealed' | { secret: string };
  status: 'active' | 'paused';
  paused_at: string | null;
  /** Global log position of the last event delivered (or passed over as not of its types). */
  delivered_through: number;
  delivered: number;
  last_delivered_at: string | null;
  /** Events of its types waiting, and the time of the oldest. */
  lag: { events: number; oldest: string | null };
  failures: number;
  last_error: string | null;
  last_error_at: string | null;
  created_at: string;
}

const keyContext = (name: string) => `sink:${name}`;

/**
 * A webhook URL as views show it: origin and first path segment. Chat incoming-webhook URLs
 * carry their credential in the rest of the path (`/services/T…/B…/<token>`) or the query.
 */
export function displayUrl(text: string): string {
  const url = new URL(text);
  const [first, ...rest] = url.pathname.split('/').filter(Boolean);
  return `${url.origin}/${first ?? ''}${rest.length > 0 || url.search ? '/…' : ''}`;
}
const secretContext = (name: string) => `secret:${name}`;
export const eventsOf = (row: Pick<SinkRow, 'events'>) => JSON.parse(row.events) as string[];

export async function sinkView(db: Queryable, row: SinkRow): Promise<SinkView> {
  const events = eventsOf(row);
  const pending = await pendingOf(db, row.delivered_through, events);
  return {
    name: row.name,
    url: displayUrl(row.url),
    format: row.format as SinkFormat,
    events,
    key: row.key_secret ? { secret: row.key_secret } : 'sealed',
    status: row.paused_at ? 'paused' : 'active',
    paused_at: row.paused_at,
    delivered_through: row.delivered_through,
    delivered: row.delivered_count,
    last_delivered_at: row.last_delivered_at,
    lag: { events: pending.count, oldest: pending.oldest },
    failures: row.failures,
    last_error: row.last_error,
    last_error_at: row.last_error_at,
    created_at: row.created_at,
  };
}

export async function addSink(db: Queryable, master: MasterKey, spec: SinkSpec, now: Date): Promise<SinkView> {
  checkSinkUrl(spec.url);
  checkKeyChoice(spec);
  if (spec.key_secret !== undefined && !(await sealedSecret(db, spec.key_secret))) {
    throw new MandateError('ERR_SINK_KEY', `no secret named ${spec.key_secret}: store it first with \`mandate secret set ${spec.key_secret}\``);
  }
  const inserted = await insertSink(
    db,
    {
      name: spec.name,
      url: spec.url,
      format: spec.format,
      events: JSON.stringify([...new Set(spec.events)]),
      key_sealed: spec.key === undefined ? null : seal(master, spec.key, keyContext(spec.name)),
      key_secret: spec.key_secret ?? null,
    },
    now,
  );
  if (!inserted) throw new MandateError('ERR_SINK_EXISTS', `a sink named ${spec.name} exists already; remove it first`);
  return getSink(db, spec.name);
}

export async function sinkRow(db: Queryable, name: string): Promise<SinkRow> {
  const row = await findSink(db, name);
  if (!row) throw new MandateError('ERR_SINK_NOT_FOUND', `no sink named ${name}`);
  return row;
}

export const getSink = async (db: Queryable, name: string) => sinkView(db, await sinkRow(db, name));

export async function allSinks(db: Queryable): Promise<SinkView[]> {
  return Promise.all((await listSinks(db)).map((row) => sinkView(db, row)));
}

export async function removeSink(db: Queryable, name: string): Promise<void> {
  if (!(await deleteSink(db, name))) throw new MandateError('ERR_SINK_NOT_FOUND', `no sink named ${name}`);
}

export async function pauseSink(db: Queryable, name: string, paused: boolean, now: Date): Promise<SinkView> {
  if (!(await setSinkPaused(db, name, paused, now))) throw new MandateError('ERR_SINK_NOT_FOUND', `no sink named ${name}`);
  return getSink(db, name);
}

/** The clear signing key, for signing a delivery only. Never log or return it. */
export async function signingKeyOf(db: Queryable, master: MasterKey, row: SinkRow): Promise<string> {
  if (row.key_sealed) return unseal(master, row.key_sealed, keyContext(row.name)).toString('utf8');
  const sealed = row.key_secret ? await sealedSecret(db, row.key_secret) : undefined;
  if (!sealed) throw new MandateError('ERR_SINK_KEY', `the secret ${row.key_secret ?? '?'} that signs sink ${row.name} is gone`);
  return unseal(master, sealed, secretContext(row.key_secret!)).toString('utf8');
}

/** Re-seal every sink's own signing key under a new master key (after a rotation); returns how many moved. */
export async function rewrapSinkKeys(db: Queryable, from: MasterKey, to: MasterKey, now: Date): Promise<number> {
  let moved = 0;
  for (const row of await sealedSinkKeys(db)) {
    if (sealedKeyId(row.key_sealed) === to.id) continue;
    const context = keyContext(row.name);
    await setSinkKeySealed(db, row.name, seal(to, unseal(from, row.key_sealed, context), context), now);
    moved++;
  }
  return moved;
}
