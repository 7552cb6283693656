import { api, type Permissions } from '../api.ts';
import { useLive } from '../live.ts';
import { Action, ErrorNote, useLoad, when } from '../ui.tsx';

interface Mandate {
  jti: string;
  parent_jti: string | null;
  person: string;
  agent: string;
  instance: string;
  scope: string[];
  budget: { limit: number; spent: number; left: number };
  depth: number;
  expires_at: string;
}

/** person → agent instance → sub-agents, from each mandate's parent. */
function tree(mandates: Mandate[]) {
  const children = new Map<string, Mandate[]>();
  const live = new Set(mandates.map((m) => m.jti));
  const roots: Mandate[] = [];
  for (const m of mandates) {
    if (m.parent_jti && live.has(m.parent_jti)) children.set(m.parent_jti, [...(children.get(m.parent_jti) ?? []), m]);
    else roots.push(m);
  }
  const persons = new Map<string, Mandate[]>();
  for (const m of roots) persons.set(m.person, [...(persons.get(m.person) ?? []), m]);
  return { persons: [...persons.entries()].sort(([a], [b]) => a.localeCompare(b)), children };
}

export function Mandates({ can }: { can: Permissions }) {
  const { data, error, reload } = useLoad(() => api<{ mandates: Mandate[]; next_cursor: string | null }>('GET', '/v1/mandates?state=live&limit=500'));
  useLive('audit', (item) => {
    const type = (item as { event: { type: string } }).event.type;
    if (type.startsWith('token.') || type.startsWith('lifecycle.') || type === 'admin.mandate_revoked' || type === 'admin.instance_revoked') void reload();
  });
  const shape = data ? tree(data.mandates) : undefined;

  const node = (m: Mandate) => (
    <li key={m.jti} data-jti={m.jti}>
      <div className="node">
        <strong>{m.agent}</strong> <span className="mono">instance {m.instance}</span>
        <span className="sub">
          scope {m.scope.join(' ') || '—'} · budget left {m.budget.left} of {m.budget.limit} · expires {when(m.expires_at)} · mandate <span className="mono">{m.jti}</span>
        </span>
        {can.revoke && (
          <span className="actions">
            <Action label={`Revoke mandate ${m.jti}`} text="Revoke mandate" kind="danger" run={() => api('POST', `/v1/mandates/${encodeURIComponent(m.jti)}/revoke`, {})} onDone={reload} />
            {m.depth === 0 && <Action label={`Revoke instance ${m.instance}`} text="Revoke instance" kind="danger" run={() => api('POST', `/v1/instances/${encodeURIComponent(m.instance)}/revoke`, {})} onDone={reload} />}
          </span>
        )}
      </div>
      {shape!.children.has(m.jti) && <ul>{shape!.children.get(m.jti)!.map(node)}</ul>}
    </li>
  );

  return (
    <>
      <h1>Live mandates</h1>
      <ErrorNote error={error} />
      {data && data.mandates.length === 0 && <p>No live mandates.</p>}
      {data?.next_cursor && <p role="status">Showing the newest {data.mandates.length} live mandates.</p>}
      {shape && shape.persons.length > 0 && (
        <ul aria-label="Delegation tree: person, agent instance, sub-agents" className="tree">
          {shape.persons.map(([person, roots]) => (
            <li key={person}>
              <div className="node person">
                <strong>{person}</strong> <span className="sub">on whose behalf</span>
              </div>
              <ul>{roots.map(node)}</ul>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
