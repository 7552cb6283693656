import { refusedClientsRepository, type RefusedClientRow } from '../../store/repositories/refused-clients.ts';
import type { Queryable } from '../../store/store.ts';
import { sha256Of } from './credentials.ts';
import type { FindingDraft } from './finding-draft.ts';

/**
 * Scanner 3: clients that try the gateway or the broker without a valid mandate. The front door
 * notes each refused request here; notes are summed in memory and written once a second (one
 * upsert per source, kind, resource and code), so a client hammering the door costs a counter,
 * not a write per request. The scan turns the groups seen recently into one finding per source.
 */
export interface RefusedAttempt {
  address: string;
  userAgent: string | undefined;
  /** `mcp` or `http`. */
  kind: string;
  resource: string;
  code: string;
}

const MAX_PENDING = 10_000;
const clip = (text: string, max: number) => text.slice(0, max);

export class RefusedClients {
  readonly #db: Queryable;
  readonly #now: () => Date;
  readonly #pending = new Map<string, RefusedClientRow>();
  readonly #onError: (error: Error) => void;
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #dropped = 0;

  constructor(db: Queryable, now: () => Date, onError: (error: Error) => void) {
    this.#db = db;
    this.#now = now;
    this.#onError = onError;
  }

  /** Attempts not kept because too many distinct groups were waiting (a flood of made-up names). */
  get dropped(): number {
    return this.#dropped;
  }

  note(attempt: RefusedAttempt): void {
    const row = { source: clip(attempt.address, 200), user_agent: clip(attempt.userAgent ?? '', 200), kind: clip(attempt.kind, 40), resource: clip(attempt.resource, 200), code: clip(attempt.code, 80) };
    const key = JSON.stringify(row);
    const at = this.#now().toISOString();
    const pending = this.#pending.get(key);
    if (pending) {
      pending.attempts++;
      pending.last_seen = at;
    } else if (this.#pending.size >= MAX_PENDING) {
      this.#dropped++;
      return;
    } else this.#pending.set(key, { ...row, attempts: 1, first_seen: at, last_seen: at });
    this.#timer ??= setTimeout(() => void this.flush(), 1000).unref();
  }

  /** Write what is waiting; resolves once it is stored. */
  flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const rows = [...this.#pending.values()];
    this.#pending.clear();
    this.#flushing = this.#flushing.then(async () => {
      try {
        for (const row of rows) await refusedClientsRepository(this.#db).add(row);
      } catch (error) {
        this.#onError(error as Error);
      }
    });
    return this.#flushing;
  }
}

/** One finding per source (address and User-Agent) with at least `minAttempts` refused since `since`. */
export async function refusedClientFindings(db: Queryable, since: Date, minAttempts: number): Promise<FindingDraft[]> {
  const groups = new Map<string, RefusedClientRow[]>();
  for (const row of await refusedClientsRepository(db).since(since.toISOString(), 5000)) {
    const key = `${row.source}\n${row.user_agent}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const drafts: FindingDraft[] = [];
  for (const rows of groups.values()) {
    const attempts = rows.reduce((n, r) => n + r.attempts, 0);
    if (attempts < minAttempts) continue;
    const { source, user_agent } = rows[0]!;
    const resources = [...new Set(rows.map((r) => `${r.kind}:${r.resource}`))].sort();
    const codes = [...new Set(rows.map((r) => r.code))].sort();
    drafts.push({
      scanner: 'refused-client',
      kind: 'refused-client',
      severity: attempts >= 100 ? 'high' : 'medium',
      source: `${source}${user_agent ? ` (${user_agent})` : ''}`,
      title: `${source}${user_agent ? ` (${user_agent.slice(0, 60)})` : ''} tried ${resources.slice(0, 5).join(', ')} ${attempts} time(s) without a valid mandate`,
      key: sha256Of(`refused\n${source}\n${user_agent}`),
      detail: {
        address: source,
        user_agent: user_agent || null,
        attempts,
        resources: resources.slice(0, 50),
        codes: codes.slice(0, 50),
        first_seen: rows.map((r) => r.first_seen).sort()[0]!,
        last_seen: rows.map((r) => r.last_seen).sort().at(-1)!,
      },
    });
  }
  return drafts;
}
