import { describe, expect, it } from 'vitest';
import { appendEvent, type EventDraft } from '../chain.ts';
import type { AuditEvent } from '../event.ts';
import { toOcsf } from './ocsf.ts';

const CHAIN = 'instance:i-7f3a';
const base: EventDraft = {
  id: 'evt-1',
  time: '2025-06-01T09:00:00.250Z',
  chain: CHAIN,
  type: 'tool.decision',
  actor: { instance: 'i-7f3a', agent: 'triage-bot', person: 'alice@example.com', delegation: ['alice@example.com', 'i-7f3a'] },
  status: 'success',
};
const event = (patch: Partial<EventDraft>): AuditEvent => appendEvent(null, { ...base, ...patch });
const ocsf = (e: AuditEvent) => toOcsf(e, { productVersion: '0.1.0' });

describe('OCSF export', () => {
  it('maps a denied tool call to API Activity with the security control outcome', () => {
    const denied = event({
      action: 'github.delete_repo',
      resource: 'mcp://github/repos/acme/api',
      decision: 'deny',
      reasons: { policies: ['forbid-deletes'], scope: 'github:repo.admin missing', message: 'deletes need approval' },
      status: 'failure',
      denial_reason: 'ERR_POLICY_DENIED',
      policy_version: 'sha256:3f1a',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      args_digest: `hmac-sha256:${'ab'.repeat(32)}`,
      args: { repo: 'acme/api', note: null },
    });
    expect(ocsf(denied)).toEqual({
      category_uid: 6,
      category_name: 'Application Activity',
      class_uid: 6003,
      class_name: 'API Activity',
      activity_id: 99,
      activity_name: 'tool.decision',
      type_uid: 600399,
      type_name: 'API Activity: tool.decision',
      time: 1748768400250,
      severity_id: 3,
      severity: 'Medium',
      status_id: 2,
      status: 'Failure',
      status_code: 'ERR_POLICY_DENIED',
      status_detail: 'deletes need approval',
      message: 'tool.decision deny github.delete_repo',
      metadata: {
        version: '1.3.0',
        product: { name: 'Mandate', vendor_name: 'Mandate', version: '0.1.0' },
        uid: 'evt-1',
        event_code: 'tool.decision',
        log_name: CHAIN,
        sequence: 1,
        original_time: '2025-06-01T09:00:00.250Z',
        correlation_uid: '4bf92f3577b34da6a3ce929d0e0e4736',
        profiles: ['security_control'],
      },
      actor: {
        user: { uid: 'alice@example.com', type_id: 1, type: 'User' },
        app_name: 'triage-bot',
        app_uid: 'i-7f3a',
        authorizations: [{ decision: 'deny', policy: { uid: 'forbid-deletes' } }],
      },
      api: { operation: 'github.delete_repo' },
      src_endpoint: { uid: 'i-7f3a', name: 'triage-bot' },
      resources: [{ uid: 'mcp://github/repos/acme/api' }],
      action_id: 2,
      action: 'Denied',
      disposition_id: 2,
      disposition: 'Blocked',
      unmapped: {
        delegation: ['alice@example.com', 'i-7f3a'],
        reasons: {
          policies: ['forbid-deletes'],
          scope: 'github:repo.admin missing',
          message: 'deletes need approval',
        },
        policy_version: 'sha256:3f1a',
        args_digest: `hmac-sha256:${'ab'.repeat(32)}`,
        prev_hash: '0'.repeat(64),
        hash: denied.hash,
        args: { repo: 'acme/api', note: null },
      },
    });
  });

  it('maps an HTTP call by its method and keeps the URL', () => {
    const post = ocsf(
      event({ type: 'http.result', action: 'POST', resource: 'https://api.stripe.com/v1/refunds', data: { bytes: 88 } }),
    );
    expect(post).toMatchObject({
      class_uid: 6003,
      activity_id: 1,
      activity_name: 'Create',
      type_uid: 600301,
      http_request: { http_method: 'POST', url: { url_string: 'https://api.stripe.com/v1/refunds' } },
      unmapped: { data: { bytes: 88 } },
    });
    expect(post).not.toHaveProperty('action_id');
    expect(post.metadata).not.toHaveProperty('profiles');
  });

  it('maps both sides of an agent-to-agent hop to API Activity', () => {
    const decided = ocsf(event({ type: 'a2a.decision', action: 'a2a:message/send', resource: 'billing message/send', decision: 'allow' }));
    expect(decided).toMatchObject({ class_uid: 6003, activity_id: 99, activity_name: 'a2a.decision', api: { operation: 'a2a:message/send' } });
    expect(ocsf(event({ type: 'a2a.received', action: 'a2a:message/send', decision: 'allow' }))).toMatchObject({ class_uid: 6003, activity_name: 'a2a.received' });
  });

  it('maps a broker event by the method it records, with the path of its label', () => {
    const put = ocsf(event({ type: 'http.decision', action: 'http:request', resource: 'github PUT /repos/acme/api', decision: 'allow', data: { resources: ['c-1'], method: 'PUT' } }));
    expect(put).toMatchObject({
      activity_id: 3,
      activity_name: 'Update',
      type_uid: 600303,
      http_request: { http_method: 'PUT', url: { url_string: 'github PUT /repos/acme/api', path: '/repos/acme/api' } },
    });
    const options = ocsf(event({ type: 'http.result', action: 'http:request', resource: 'github OPTIONS /', data: { method: 'OPTIONS' } }));
    expect(options).toMatchObject({ activity_id: 99, http_request: { http_method: 'OPTIONS' } });
  });

  it('maps a mandate issued by token exchange to an Authentication service ticket for the person', () => {
    expect(ocsf(event({ type: 'token.issued', resource: 'https://gateway.mandate.local' }))).toMatchObject({
      class_uid: 3002,
      category_uid: 3,
      activity_id: 4,
      activity_name: 'Service Ticket Request',
      type_uid: 300204,
      user: { uid: 'alice@example.com', type_id: 1 },
      service: { name: 'https://gateway.mandate.local' },
      auth_protocol_id: 6,
      auth_protocol: 'OAUTH 2.0',
    });
  });

  it('maps an instance identity to an Authentication ticket for the agent, and revocations to logoff', () => {
    expect(ocsf(event({ type: 'identity.issued' }))).toMatchObject({
      class_uid: 3002,
      activity_id: 3,
      user: { uid: 'i-7f3a', name: 'triage-bot', type_id: 99, type: 'Agent' },
      auth_protocol_id: 99,
    });
    expect(ocsf(event({ type: 'token.revoked' }))).toMatchObject({ class_uid: 3002, activity_id: 2, type_uid: 300202 });
  });

  it('maps lifecycle changes to Account Change of the agent instance', () => {
    expect(ocsf(event({ type: 'lifecycle.suspended' }))).toMatchObject({
      class_uid: 3001,
      activity_id: 5,
      activity_name: 'Disable',
      severity_id: 3,
      user: { uid: 'i-7f3a', type: 'Agent' },
      actor: { user: { uid: 'alice@example.com' } },
    });
    expect(ocsf(event({ type: 'lifecycle.sealed' }))).toMatchObject({
      class_uid: 3001,
      activity_id: 99,
      activity_name: 'lifecycle.sealed',
    });
  });

  it('maps anomalies to a Detection Finding', () => {
    const finding = ocsf(
      event({ type: 'anomaly.detected', action: 'github.search', reasons: { message: 'burst rate', risk: 0.8 } }),
    );
    expect(finding).toMatchObject({
      class_uid: 2004,
      category_uid: 2,
      type_uid: 200401,
      severity_id: 4,
      finding_info: { uid: 'evt-1', title: 'burst rate', types: ['anomaly.detected'] },
      evidences: [{ actor: { app_uid: 'i-7f3a' }, api: { operation: 'github.search' } }],
    });
  });

  it('falls back to the Base Event for approvals, policies and administration, pending included', () => {
    expect(ocsf(event({ type: 'approval.requested', status: 'pending' }))).toMatchObject({
      class_uid: 0,
      category_uid: 0,
      activity_id: 99,
      type_uid: 99,
      status_id: 99,
      status: 'Pending',
    });
  });
});
