import { createHash, X509Certificate } from 'node:crypto';
import { MandateError } from '../errors.ts';
import type { MasterKey } from '../identity/master-key.ts';
import { seal, sealedKeyId, unseal } from '../identity/seal.ts';
import { displayUrl } from '../notify/sinks.ts';
import { type TrailFilter, type TrailSinkRow, trailSinksRepository } from '../store/repositories/trail-sinks.ts';
import type { Queryable } from '../store/store.ts';
import { checkTrailSinkSpec, type TrailFormat, type TrailSinkKind, type TrailSinkSettings, type TrailSinkSpec } from './spec.ts';

/**
 * Trail sinks as operators see them. The kind's secret goes in sealed (AES-256-GCM under the
 * master key, the sink's name as associated data) and never comes out: views say only whether
 * there is one. PEM certificates show as their SHA-256 fingerprints, URLs as origin and first
 * path segment (a URL may carry a credential further on).
 */
export interface TrailSinkView {
  name: string;
  kind: TrailSinkKind;
  format: TrailFormat;
  /** Where events go, for people: the address, the URL shortened, or servers and subject. */
  target: string;
  settings: Record<string, unknown>;
  events: string[];
  environments: string[];
  secret: 'sealed' | 'none';
  status: 'active' | 'paused';
  paused_at: string | null;
  delivered_through: number;
  delivered: number;
  last_delivered_at: string | null;
  /** Events the sink takes still waiting, and how old the oldest is. */
  lag: { events: number; seconds: number; oldest: string | null };
  /** Failed attempts since the last success, and ever. */
  failures: number;
  errors: number;
  last_error: string | null;
  last_error_at: string | null;
  created_at: string;
}

const secretContext = (name: string) => `trail-sink:${name}`;

export const filterOf = (row: Pick<TrailSinkRow, 'events' | 'environments'>): TrailFilter => ({
  types: JSON.parse(row.events) as string[],
  environments: JSON.parse(row.environments) as string[],
});
export const settingsOf = (row: Pick<TrailSinkRow, 'settings'>) => JSON.parse(row.settings) as TrailSinkSettings;

function fingerprint(pem: string): string {
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return `sha256:${createHash('sha256').update(pem).digest('hex').slice(0, 32)}`;
  }
}

function shownSettings(settings: TrailSinkSettings): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...settings };
  if (settings.url) shown.url = displayUrl(settings.url);
  if (settings.ca) shown.ca = fingerprint(settings.ca);
  if (settings.client_cert) shown.client_cert = fingerprint(settings.client_cert);
  return shown;
}

function targetOf(kind: TrailSinkKind, s: TrailSinkSettings): string {
  if (kind === 'nats-jetstream') return `${(s.servers ?? []).join(',')} ${s.subject ?? ''}`.trim();
  if (s.url) return displayUrl(s.url);
  return s.address ?? '';
}

export async function trailSinkView(db: Queryable, row: TrailSinkRow, now: Date): Promise<TrailSinkView> {
  const filter = filterOf(row);
  const pending = await trailSinksRepository(db).pending(row.delivered_through, filter);
  const settings = settingsOf(row);
  return {
    name: row.name,
    kind: row.kind as TrailSinkKind,
    format: row.format as TrailFormat,
    target: targetOf(row.kind as TrailSinkKind, settings),
    settings: shownSettings(settings),
    events: [...filter.types],
    environments: [...filter.environments],
    secret: row.secret_sealed ? 'sealed' : 'none',
    status: row.paused_at ? 'paused' : 'active',
    paused_at: row.paused_at,
    delivered_through: row.delivered_through,
    delivered: row.delivered_count,
    last_delivered_at: row.last_delivered_at,
    lag: { events: pending.count, seconds: lagSeconds(pending.oldest, now), oldest: pending.oldest },
    failures: row.failures,
    errors: row.errors_count,
    last_error: row.last_error,
    last_error_at: row.last_error_at,
    created_at: row.created_at,
  };
}

export const lagSeconds = (oldest: string | null, now: Date) => (oldest ? Math.max(0, Math.round((now.getTime() - Date.parse(oldest)) / 100) / 10) : 0);

export async function addTrailSink(db: Queryable, master: MasterKey, spec: TrailSinkSpec, now: Date): Promise<TrailSinkView> {
  checkTrailSinkSpec(spec);
  const repo = trailSinksRepository(db);
  const through = spec.from === 'start' ? -1 : (await repo.trailSize()) - 1;
  const inserted = await repo.insert(
    {
      name: spec.name,
      kind: spec.kind,
      format: spec.format,
      settings: JSON.stringify(spec.settings),
      events: JSON.stringify([...new Set(spec.events)]),
      environments: JSON.stringify([...new Set(spec.environments)]),
      secret_sealed: spec.secret === undefined ? null : seal(master, spec.secret, secretContext(spec.name)),
    },
    through,
    now,
  );
  if (!inserted) throw new MandateError('ERR_TRAIL_SINK_EXISTS', `a trail sink named ${spec.name} exists already; remove it first`);
  return getTrailSink(db, spec.name, now);
}

export async function trailSinkRow(db: Queryable, name: string): Promise<TrailSinkRow> {
  const row = await trailSinksRepository(db).find(name);
  if (!row) throw new MandateError('ERR_TRAIL_SINK_NOT_FOUND', `no trail sink named ${name}`);
  return row;
}

export const getTrailSink = async (db: Queryable, name: string, now: Date) => trailSinkView(db, await trailSinkRow(db, name), now);

export async function allTrailSinks(db: Queryable, now: Date): Promise<TrailSinkView[]> {
  return Promise.all((await trailSinksRepository(db).list()).map((row) => trailSinkView(db, row, now)));
}

export async function removeTrailSink(db: Queryable, name: string): Promise<void> {
  if (!(await trailSinksRepository(db).remove(name))) throw new MandateError('ERR_TRAIL_SINK_NOT_FOUND', `no trail sink named ${name}`);
}

export async function pauseTrailSink(db: Queryable, name: string, paused: boolean, now: Date): Promise<TrailSinkView> {
  if (!(await trailSinksRepository(db).setPaused(name, paused, now))) throw new MandateError('ERR_TRAIL_SINK_NOT_FOUND', `no trail sink named ${name}`);
  return getTrailSink(db, name, now);
}

/** The clear secret, for the transport only. Never log or return it. */
export function trailSinkSecret(master: MasterKey, row: Pick<TrailSinkRow, 'name' | 'secret_sealed'>): string | undefined {
  return row.secret_sealed ? unseal(master, row.secret_sealed, secretContext(row.name)).toString('utf8') : undefined;
}

/** Re-seal every trail sink's secret under a new master key (after a rotation); returns how many moved. */
export async function rewrapTrailSinkSecrets(db: Queryable, from: MasterKey, to: MasterKey, now: Date): Promise<number> {
  const repo = trailSinksRepository(db);
  let moved = 0;
  for (const row of await repo.sealedSecrets()) {
    if (sealedKeyId(row.secret_sealed) === to.id) continue;
    const context = secretContext(row.name);
    await repo.setSecretSealed(row.name, seal(to, unseal(from, row.secret_sealed, context), context), now);
    moved++;
  }
  return moved;
}
