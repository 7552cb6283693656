import { api, type AuditItem, type Permissions } from '../api.ts';
import { useLive } from '../live.ts';
import { ErrorNote, Panel, useLoad, when } from '../ui.tsx';

interface Minute {
  minute: string;
  allowed: number;
  refused: Record<string, number>;
}

async function loadOverview(can: Permissions) {
  const [agents, instances, mandates, approvals, decisions, anomalies, ready] = await Promise.all([
    can.readAgents ? api<{ agents: Array<{ id: string; environment: string; status: string }> }>('GET', '/v1/agents') : undefined,
    can.read ? api<{ instances: Array<{ status: string }> }>('GET', '/v1/instances') : undefined,
    can.read ? api<{ mandates: Array<{ budget: { limit: number; spent: number } }>; next_cursor: string | null }>('GET', '/v1/mandates?state=live&limit=500') : undefined,
    can.readApprovals ? api<{ approvals: unknown[] }>('GET', '/v1/approvals?status=pending') : undefined,
    can.read ? api<{ minutes: Minute[] }>('GET', '/v1/audit/decisions?since=15m') : undefined,
    can.read ? api<{ events: AuditItem[] }>('GET', '/v1/audit/events?type=anomaly.*&since=24h&order=desc&limit=10') : undefined,
    fetch('/readyz').then(async (r) => ({ ok: r.ok, body: (await r.json().catch(() => ({}))) as Record<string, unknown> })),
  ]);
  return { agents, instances, mandates, approvals, decisions, anomalies, ready };
}

/** Budget spent of budget granted, over the live mandates shown (each mandate's own figure). */
function burn(mandates: Array<{ budget: { limit: number; spent: number } }>): string {
  const limit = mandates.reduce((sum, m) => sum + m.budget.limit, 0);
  const spent = mandates.reduce((sum, m) => sum + m.budget.spent, 0);
  return limit > 0 ? `${spent} of ${limit} (${Math.round((spent / limit) * 100)}%)` : '—';
}

function byEnvironment(agents: Array<{ environment: string; status: string }>) {
  const table = new Map<string, Record<string, number>>();
  for (const a of agents) {
    const row = table.get(a.environment) ?? {};
    row[a.status] = (row[a.status] ?? 0) + 1;
    table.set(a.environment, row);
  }
  return [...table.entries()].sort(([a], [b]) => a.localeCompare(b));
}

/** The last 15 minutes, each one there whether it had decisions or not. */
function lastMinutes(found: Minute[], now = Date.now()): Minute[] {
  const byMinute = new Map(found.map((m) => [m.minute, m]));
  return Array.from({ length: 15 }, (_, i) => {
    const minute = new Date(now - (14 - i) * 60_000).toISOString().slice(0, 16);
    return byMinute.get(minute) ?? { minute, allowed: 0, refused: {} };
  });
}

function DecisionChart({ minutes: found }: { minutes: Minute[] }) {
  const minutes = lastMinutes(found);
  const refusedOf = (m: Minute) => Object.values(m.refused).reduce((n, v) => n + v, 0);
  const max = Math.max(1, ...minutes.map((m) => m.allowed + refusedOf(m)));
  const codes = new Map<string, number>();
  for (const m of minutes) for (const [code, n] of Object.entries(m.refused)) codes.set(code, (codes.get(code) ?? 0) + n);
  const width = 16;
  return (
    <>
      <svg className="chart" viewBox={`0 0 ${Math.max(minutes.length, 1) * width} 100`} role="img" aria-label="Decisions per minute over the last 15 minutes: allowed in green, refused in red">
        {minutes.map((m, i) => {
          const allowed = (m.allowed / max) * 100;
          const refused = (refusedOf(m) / max) * 100;
          return (
            <g key={m.minute}>
              <title>{`${m.minute}: ${m.allowed} allowed, ${refusedOf(m)} refused`}</title>
              <rect className="allowed" x={i * width + 2} y={100 - allowed} width={width - 4} height={allowed} />
              <rect className="refused" x={i * width + 2} y={100 - allowed - refused} width={width - 4} height={refused} />
            </g>
          );
        })}
      </svg>
      <table>
        <caption>Last 15 minutes</caption>
        <thead>
          <tr>
            <th scope="col">Decision</th>
            <th scope="col">Count</th>
          </tr>
        </thead>
        <tbody>
          <tr>
            <td>allowed</td>
            <td data-testid="allowed-count">{minutes.reduce((n, m) => n + m.allowed, 0)}</td>
          </tr>
          {[...codes.entries()].map(([code, n]) => (
            <tr key={code}>
              <td>refused: {code}</td>
              <td>{n}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function Overview({ can }: { can: Permissions }) {
  const { data, error, reload } = useLoad(() => loadOverview(can), [can.read, can.readAgents, can.readApprovals]);
  useLive('approvals', () => void reload());
  useLive('audit', (item) => {
    const type = (item as AuditItem).event.type;
    if (type.endsWith('.decision') || type.startsWith('anomaly.') || type.startsWith('admin.')) void reload();
  });
  return (
    <>
      <h1>Overview</h1>
      <ErrorNote error={error} />
      {data && (
        <div className="grid">
          {data.agents && (
            <Panel title="Agents by environment">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Environment</th>
                    <th scope="col">Active</th>
                    <th scope="col">Suspended</th>
                    <th scope="col">Retired</th>
                  </tr>
                </thead>
                <tbody>
                  {byEnvironment(data.agents.agents).map(([env, row]) => (
                    <tr key={env}>
                      <th scope="row">{env}</th>
                      <td>{row.active ?? 0}</td>
                      <td>{row.suspended ?? 0}</td>
                      <td>{row.retired ?? 0}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </Panel>
          )}
          <Panel title="Now">
            <dl className="figures">
              {data.instances && (
                <>
                  <dt>Live instances</dt>
                  <dd data-testid="live-instances">{data.instances.instances.filter((i) => i.status === 'active').length}</dd>
                </>
              )}
              {data.mandates && (
                <>
                  <dt>Live mandates</dt>
                  <dd data-testid="live-mandates">{data.mandates.mandates.length}{data.mandates.next_cursor ? '+' : ''}</dd>
                </>
              )}
              {data.mandates && (
                <>
                  <dt>Budget burn</dt>
                  <dd data-testid="budget-burn">{burn(data.mandates.mandates)}</dd>
                </>
              )}
              {data.approvals && (
                <>
                  <dt>Pending approvals</dt>
                  <dd data-testid="pending-approvals">{data.approvals.approvals.length}</dd>
                </>
              )}
              <dt>This replica</dt>
              <dd>{data.ready.ok ? 'ready' : `not ready (${String(data.ready.body.code ?? 'unknown')})`}</dd>
            </dl>
          </Panel>
          {data.decisions && (
            <Panel title="Decisions per minute">
              <DecisionChart minutes={data.decisions.minutes} />
            </Panel>
          )}
          {data.anomalies && (
            <Panel title="Anomalies (24 h)">
              {data.anomalies.events.length === 0 ? (
                <p>None.</p>
              ) : (
                <ul>
                  {data.anomalies.events.map((a) => (
                    <li key={a.event.id}>
                      {when(a.event.time)} {a.event.type} — {a.event.actor.agent ?? '?'} {a.event.reasons?.message ? `: ${String(a.event.reasons.message)}` : ''}
                    </li>
                  ))}
                </ul>
              )}
            </Panel>
          )}
        </div>
      )}
    </>
  );
}
