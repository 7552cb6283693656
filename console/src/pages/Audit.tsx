import { type FormEvent, useEffect, useState } from 'react';
import { api, type AuditItem, type Permissions } from '../api.ts';
import { useLive } from '../live.ts';
import { Action, Badge, ErrorNote, Panel, describe, when } from '../ui.tsx';
import { type Check, verifyInBrowser } from '../verify.ts';

const FILTERS = ['agent', 'instance', 'person', 'type', 'since'] as const;
type Filters = Record<(typeof FILTERS)[number] | 'decision', string>;
const EMPTY: Filters = { agent: '', instance: '', person: '', type: '', decision: '', since: '' };
const PAGE = 50;

const matches = (item: AuditItem, f: Filters) =>
  (!f.agent || item.event.actor.agent === f.agent) &&
  (!f.instance || item.event.actor.instance === f.instance) &&
  (!f.person || item.event.actor.person === f.person) &&
  (!f.type || (f.type.endsWith('*') ? item.event.type.startsWith(f.type.slice(0, -1)) : item.event.type === f.type)) &&
  (!f.decision || item.event.decision === f.decision);

function Verification({ item, can }: { item: AuditItem; can: Permissions }) {
  const [checks, setChecks] = useState<Check[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      setChecks(await verifyInBrowser(item));
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  const failed = checks?.some((c) => c.status === 'fail');
  return (
    <div className="verify">
      <button type="button" className="primary" onClick={run} disabled={busy}>
        Verify in this browser
      </button>
      {can.signCheckpoint && <Action label="Sign a checkpoint now" run={() => api('POST', '/v1/audit/checkpoints', {})} />}
      <ErrorNote error={error} />
      {checks && (
        <div role="status" aria-live="polite">
          <p className={failed ? 'verdict fail' : 'verdict pass'} data-testid="verdict">
            {failed ? `Verification FAILED at ${item.event.chain} #${item.event.seq}` : 'Verified by this browser'}
          </p>
          <ul className="checks">
            {checks.map((c) => (
              <li key={c.name} data-check={c.name} data-status={c.status}>
                <Badge value={c.status} /> <strong>{c.name}</strong>: {c.detail}
              </li>
            ))}
          </ul>
          <p className="help">Computed here with WebCrypto (SHA-256, Ed25519) from what the API returned; the server's own verdict is not used.</p>
        </div>
      )}
    </div>
  );
}

export function Audit({ can }: { can: Permissions }) {
  const [form, setForm] = useState<Filters>(EMPTY);
  const [applied, setApplied] = useState<Filters>(EMPTY);
  const [items, setItems] = useState<AuditItem[]>([]);
  const [cursors, setCursors] = useState<Array<string | undefined>>([undefined]);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>(undefined);
  const [tail, setTail] = useState(true);
  const [selected, setSelected] = useState<AuditItem | undefined>(undefined);

  const load = async (filters: Filters, cursor: string | undefined) => {
    const params = new URLSearchParams({ order: 'desc', limit: String(PAGE) });
    for (const [k, v] of Object.entries(filters)) if (v) params.set(k, v);
    if (cursor) params.set('cursor', cursor);
    try {
      const page = await api<{ events: AuditItem[]; next_cursor: string | null }>('GET', `/v1/audit/events?${params.toString()}`);
      setItems(page.events);
      setNext(page.next_cursor);
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
  };
  useEffect(() => {
    void load(EMPTY, undefined);
  }, []);

  useLive('audit', (data) => {
    const item = data as AuditItem;
    // Live tail: new events go on top of the first page while it is shown.
    if (tail && cursors.length === 1 && matches(item, applied)) setItems((current) => [item, ...current].slice(0, PAGE));
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied(form);
    setCursors([undefined]);
    setSelected(undefined);
    void load(form, undefined);
  };

  return (
    <>
      <h1>Audit trail</h1>
      <form className="filters" onSubmit={submit} aria-label="Filter the trail">
        {FILTERS.map((name) => (
          <label key={name}>
            {name === 'since' ? 'Since (15m, 24h or a time)' : name[0]!.toUpperCase() + name.slice(1)}
            <input name={name} value={form[name]} onChange={(e) => setForm({ ...form, [name]: e.target.value })} />
          </label>
        ))}
        <label>
          Decision
          <select name="decision" value={form.decision} onChange={(e) => setForm({ ...form, decision: e.target.value })}>
            <option value="">any</option>
            <option value="allow">allow</option>
            <option value="deny">deny</option>
          </select>
        </label>
        <button type="submit">Apply filters</button>
        <label className="inline">
          <input type="checkbox" checked={tail} onChange={(e) => setTail(e.target.checked)} /> Live tail
        </label>
      </form>
      <ErrorNote error={error} />
      <table className="wide events">
        <caption>Newest first{cursors.length > 1 ? ` · page ${cursors.length}` : ''}</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Type</th>
            <th scope="col">Chain #</th>
            <th scope="col">Agent</th>
            <th scope="col">Person</th>
            <th scope="col">Action / resource</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody>
          {items.map((item) => (
            <tr key={item.leaf_index} data-leaf={item.leaf_index} data-type={item.event.type} aria-selected={selected?.leaf_index === item.leaf_index}>
              <td>
                <button type="button" className="link" onClick={() => setSelected(item)}>
                  {when(item.event.time)}
                </button>
              </td>
              <td>{item.event.type}</td>
              <td className="mono">
                {item.event.chain} #{item.event.seq}
              </td>
              <td>{item.event.actor.agent ?? '—'}</td>
              <td>{item.event.actor.person ?? '—'}</td>
              <td className="mono clip">{item.event.resource ?? item.event.action ?? ''}</td>
              <td>
                {item.event.decision ? <Badge value={item.event.decision} /> : <Badge value={item.event.status} />} {item.event.denial_reason ?? ''}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="pager">
        <button
          type="button"
          disabled={cursors.length === 1}
          onClick={() => {
            const back = cursors.slice(0, -1);
            setCursors(back);
            void load(applied, back.at(-1));
          }}
        >
          Newer
        </button>
        <button
          type="button"
          disabled={!next}
          onClick={() => {
            setCursors([...cursors, next!]);
            void load(applied, next!);
          }}
        >
          Older
        </button>
      </div>
      {selected && (
        <Panel title={`Event ${selected.event.chain} #${selected.event.seq} (leaf ${selected.leaf_index})`} id="event">
          <Verification key={selected.leaf_index} item={selected} can={can} />
          <pre className="json" tabIndex={0} aria-label="The event as JSON">{JSON.stringify(selected.event, null, 2)}</pre>
        </Panel>
      )}
    </>
  );
}
