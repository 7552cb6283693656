import { useState } from 'react';
import { api, type Permissions } from '../api.ts';
import { useLive } from '../live.ts';
import { Action, ErrorNote, useLoad, when } from '../ui.tsx';

interface Approval {
  id: string;
  status: string;
  agent: string;
  instance: string;
  person: string | null;
  action: string;
  resource: string;
  args_digest: string;
  risk: number;
  why: { policies: string[]; reasons: string[]; anomalies: string[] };
  requested_at: string;
  expires_at: string;
}

function HeldCall({ approval, can, onDone }: { approval: Approval; can: Permissions; onDone: () => void }) {
  const [note, setNote] = useState('');
  const noteId = `note-${approval.id}`;
  return (
    <article className="held" data-approval={approval.id} aria-labelledby={`${approval.id}-title`}>
      <h2 id={`${approval.id}-title`}>
        {approval.agent} wants <span className="mono">{approval.resource}</span>
      </h2>
      <dl className="card">
        <dt>Agent instance</dt>
        <dd className="mono">{approval.instance}</dd>
        <dt>On behalf of</dt>
        <dd>{approval.person ?? '—'}</dd>
        <dt>Action</dt>
        <dd className="mono">{approval.action}</dd>
        <dt>Arguments digest</dt>
        <dd className="mono">{approval.args_digest}</dd>
        <dt>Risk</dt>
        <dd>{approval.risk}</dd>
        <dt>Why held</dt>
        <dd>{[...approval.why.reasons, ...approval.why.anomalies.map((a) => `anomaly: ${a}`)].join('; ') || '—'}</dd>
        <dt>Policies that asked</dt>
        <dd>{approval.why.policies.join(', ') || '—'}</dd>
        <dt>Requested</dt>
        <dd>
          {when(approval.requested_at)} (expires {when(approval.expires_at)})
        </dd>
      </dl>
      {can.decide && (
        <div className="decide">
          <label htmlFor={noteId}>Comment</label>
          <input id={noteId} value={note} maxLength={1000} onChange={(e) => setNote(e.target.value)} />
          <Action label={`Approve ${approval.id}`} text="Approve" kind="primary" run={() => api('POST', `/v1/approvals/${approval.id}/approve`, note ? { note } : {})} onDone={onDone} />
          <Action label={`Deny ${approval.id}`} text="Deny" kind="danger" run={() => api('POST', `/v1/approvals/${approval.id}/deny`, note ? { note } : {})} onDone={onDone} />
        </div>
      )}
    </article>
  );
}

export function Approvals({ can }: { can: Permissions }) {
  const { data, error, reload } = useLoad(() => api<{ approvals: Approval[] }>('GET', '/v1/approvals?status=pending'));
  useLive('approvals', () => void reload());
  return (
    <>
      <h1>Approvals inbox</h1>
      <ErrorNote error={error} />
      <p role="status">{data ? `${data.approvals.length} held call${data.approvals.length === 1 ? '' : 's'} waiting` : 'Loading…'}</p>
      {data?.approvals.map((a) => <HeldCall key={a.id} approval={a} can={can} onDone={reload} />)}
    </>
  );
}
