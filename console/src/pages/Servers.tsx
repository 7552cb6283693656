import { useState } from 'react';
import { api, type Permissions } from '../api.ts';
import { Action, Badge, ErrorNote, Panel, useLoad } from '../ui.tsx';

interface Pin {
  tool: string;
  hash: string;
  status: string;
  definition: unknown;
  pending: { hash: string; definition: unknown } | null;
}
interface Server {
  name: string;
  transport?: string;
  url?: string;
  pins?: Pin[];
  [key: string]: unknown;
}
interface Connection {
  name: string;
  base_url?: string;
  allow?: string[];
  kind?: string;
  [key: string]: unknown;
}

/** Lines of the pinned and the upstream's definition side by side; changed lines marked. */
function SideBySide({ pinned, upstream }: { pinned: unknown; upstream: unknown }) {
  const left = JSON.stringify(pinned, null, 2).split('\n');
  const right = JSON.stringify(upstream, null, 2).split('\n');
  const rows = Math.max(left.length, right.length);
  return (
    <table className="diff">
      <thead>
        <tr>
          <th scope="col">Pinned (approved)</th>
          <th scope="col">Upstream now (quarantined)</th>
        </tr>
      </thead>
      <tbody>
        {Array.from({ length: rows }, (_, i) => {
          const changed = left[i] !== right[i];
          return (
            <tr key={i} className={changed ? 'changed' : undefined}>
              <td className="mono">{left[i] ?? ''}</td>
              <td className="mono">
                {changed ? <span className="visually-hidden">changed: </span> : null}
                {right[i] ?? ''}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function Servers({ can }: { can: Permissions }) {
  const { data, error, reload } = useLoad(async () => {
    const [servers, connections] = await Promise.all([api<{ servers: Server[] }>('GET', '/v1/servers'), api<{ connections: Connection[] }>('GET', '/v1/connections')]);
    const detailed = await Promise.all(servers.servers.map((s) => api<Server>('GET', `/v1/servers/${encodeURIComponent(s.name)}`)));
    return { servers: detailed, connections: connections.connections };
  });
  const [diff, setDiff] = useState<string | undefined>(undefined);
  return (
    <>
      <h1>Servers and connections</h1>
      <ErrorNote error={error} />
      {data?.servers.length === 0 && <p>No upstream MCP servers.</p>}
      {data?.servers.map((s) => (
        <Panel key={s.name} title={`MCP server ${s.name}`} id={`server-${s.name}`}>
          <p className="sub">
            {s.transport ?? ''} {s.url ?? ''}
          </p>
          <table className="wide">
            <thead>
              <tr>
                <th scope="col">Tool</th>
                <th scope="col">Status</th>
                <th scope="col">Pinned hash</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {(s.pins ?? []).map((p) => (
                <tr key={p.tool}>
                  <th scope="row">{p.tool}</th>
                  <td>
                    <Badge value={p.status} />
                  </td>
                  <td className="mono">{p.hash.slice(0, 16)}…</td>
                  <td>
                    {p.pending && (
                      <button type="button" aria-expanded={diff === `${s.name}/${p.tool}`} onClick={() => setDiff(diff === `${s.name}/${p.tool}` ? undefined : `${s.name}/${p.tool}`)}>
                        Compare {p.tool}
                      </button>
                    )}
                    {p.status === 'quarantined' && can.approveTool && (
                      <Action label={`Approve new definition of ${p.tool}`} text="Approve new definition" run={() => api('POST', `/v1/servers/${encodeURIComponent(s.name)}/tools/${encodeURIComponent(p.tool)}/approve`, {})} onDone={reload} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {(s.pins ?? [])
            .filter((p) => p.pending && diff === `${s.name}/${p.tool}`)
            .map((p) => (
              <SideBySide key={p.tool} pinned={p.definition} upstream={p.pending!.definition} />
            ))}
        </Panel>
      ))}
      <Panel title="Broker connections">
        {data?.connections.length === 0 ? (
          <p>No connections.</p>
        ) : (
          <table className="wide">
            <thead>
              <tr>
                <th scope="col">Connection</th>
                <th scope="col">Upstream</th>
                <th scope="col">Allowed</th>
              </tr>
            </thead>
            <tbody>
              {data?.connections.map((c) => (
                <tr key={c.name}>
                  <th scope="row">{c.name}</th>
                  <td className="mono">{c.base_url ?? c.kind ?? ''}</td>
                  <td className="mono">{(c.allow ?? []).join(', ')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Panel>
    </>
  );
}
