import { useDeferredValue, useMemo, useState } from 'react';
import { api, type Permissions } from '../api.ts';
import { Action, Badge, ErrorNote, Panel, useLoad, when } from '../ui.tsx';

interface Agent {
  id: string;
  name: string;
  owner?: string | null;
  environment: string;
  status: string;
  flags?: string[];
  toolset?: string[];
  purpose?: string;
  updated_at?: string;
  [key: string]: unknown;
}

/** What the hygiene report (GET /v1/reports/hygiene) says about agents, as flags on their rows. */
interface Hygiene {
  orphaned: Array<{ agent: string }>;
  stale: Array<{ agent: string }>;
  over_privileged: Array<{ agent: string; unused: string[] }>;
}

/** Governance flags per agent: orphaned, stale, over-privileged (toolset items never used in the window). */
function governanceFlags(hygiene: Hygiene | undefined): Map<string, Array<{ flag: string; title: string }>> {
  const flags = new Map<string, Array<{ flag: string; title: string }>>();
  const add = (agent: string, flag: string, title: string) => flags.set(agent, [...(flags.get(agent) ?? []), { flag, title }]);
  for (const a of hygiene?.orphaned ?? []) add(a.agent, 'orphaned', 'its owner is not a person Mandate knows, or has left');
  for (const a of hygiene?.stale ?? []) add(a.agent, 'stale', 'no activity in the trail within the window');
  for (const a of hygiene?.over_privileged ?? []) add(a.agent, 'over-privileged', `never used: ${a.unused.join(', ')}`);
  return flags;
}

/** Rows drawn at once: the inventory stays quick with ten thousand agents; the filter narrows. */
const SHOWN = 200;

export function Agents({ can }: { can: Permissions }) {
  const { data, error, reload } = useLoad(async () => {
    const [agents, instances, hygiene] = await Promise.all([
      api<{ agents: Agent[] }>('GET', '/v1/agents'),
      can.read
        ? api<{ instances: Array<{ agent_id: string; status: string; last_activity?: string | null }> }>('GET', '/v1/instances?activity=true')
        : Promise.resolve({ instances: [] }),
      can.read ? api<Hygiene>('GET', '/v1/reports/hygiene').catch(() => undefined) : Promise.resolve(undefined),
    ]);
    const live = new Map<string, number>();
    const lastActivity = new Map<string, string>();
    for (const i of instances.instances) {
      if (i.status === 'active') live.set(i.agent_id, (live.get(i.agent_id) ?? 0) + 1);
      if (i.last_activity && (lastActivity.get(i.agent_id) ?? '') < i.last_activity) lastActivity.set(i.agent_id, i.last_activity);
    }
    return { agents: agents.agents, live, lastActivity, governance: governanceFlags(hygiene) };
  }, [can.read]);
  const [filter, setFilter] = useState('');
  const [status, setStatus] = useState('');
  const [open, setOpen] = useState<string | undefined>(undefined);
  // What the filter searches, built once per load; typing stays responsive while the table catches up.
  const searchable = useMemo(() => (data?.agents ?? []).map((a) => ({ agent: a, text: `${a.id} ${a.name} ${a.owner ?? ''} ${a.environment}`.toLowerCase() })), [data]);
  const deferred = useDeferredValue(filter);
  const matching = useMemo(() => {
    const text = deferred.trim().toLowerCase();
    return searchable.filter((s) => (!status || s.agent.status === status) && (!text || s.text.includes(text))).map((s) => s.agent);
  }, [searchable, deferred, status]);
  const card = data?.agents.find((a) => a.id === open);
  const act = (id: string, action: string) => api('POST', `/v1/agents/${encodeURIComponent(id)}/${action}`, {});

  return (
    <>
      <h1>Agents</h1>
      <ErrorNote error={error} />
      <div className="filters">
        <label>
          Filter
          <input type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="id, name, owner, environment" />
        </label>
        <label>
          Status
          <select value={status} onChange={(e) => setStatus(e.target.value)}>
            <option value="">any</option>
            <option value="active">active</option>
            <option value="suspended">suspended</option>
            <option value="retired">retired</option>
          </select>
        </label>
        <span role="status">
          {matching.length > SHOWN ? `showing ${SHOWN} of ${matching.length}` : `${matching.length} agents`}
        </span>
      </div>
      <table className="wide">
        <thead>
          <tr>
            <th scope="col">Agent</th>
            <th scope="col">Owner</th>
            <th scope="col">Environment</th>
            <th scope="col">Status</th>
            <th scope="col">Live instances</th>
            <th scope="col">Last activity</th>
            <th scope="col">Flags</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {matching.slice(0, SHOWN).map((a) => (
            <tr key={a.id} data-agent={a.id}>
              <th scope="row">
                <button type="button" className="link" aria-expanded={open === a.id} onClick={() => setOpen(open === a.id ? undefined : a.id)}>
                  {a.id}
                </button>
                <div className="sub">{a.name}</div>
              </th>
              <td>{a.owner ?? <Badge value="no owner" />}</td>
              <td>{a.environment}</td>
              <td>
                <Badge value={a.status} />
              </td>
              <td>{data?.live.get(a.id) ?? 0}</td>
              <td>{data?.lastActivity.has(a.id) ? when(data.lastActivity.get(a.id)) : '—'}</td>
              <td>
                {(a.flags ?? []).map((f) => <Badge key={f} value={f} />)}
                {(data?.governance.get(a.id) ?? []).map((f) => (
                  <span key={f.flag} title={f.title}>
                    <Badge value={f.flag} />
                  </span>
                ))}
              </td>
              <td>
                {can.lifecycle && a.status === 'active' && <Action label={`Suspend ${a.id}`} text="Suspend" kind="danger" run={() => act(a.id, 'suspend')} onDone={reload} />}
                {can.lifecycle && a.status === 'suspended' && <Action label={`Resume ${a.id}`} text="Resume" run={() => act(a.id, 'resume')} onDone={reload} />}
                {can.retire && a.status !== 'retired' && <Action label={`Retire ${a.id}`} text="Retire" kind="danger" run={() => act(a.id, 'retire')} onDone={reload} />}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {card && (
        <Panel title={`Agent card: ${card.id}`} id="agent-card">
          <dl className="card">
            <dt>Purpose</dt>
            <dd>{card.purpose ?? '—'}</dd>
            <dt>Toolset</dt>
            <dd>{(card.toolset ?? []).join(', ') || '—'}</dd>
            <dt>Updated</dt>
            <dd>{when(card.updated_at)}</dd>
          </dl>
          <pre className="json" tabIndex={0} aria-label="The agent card as JSON">{JSON.stringify(card, null, 2)}</pre>
        </Panel>
      )}
    </>
  );
}
