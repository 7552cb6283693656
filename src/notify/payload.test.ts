import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../audit/event.ts';
import { jsonPayload, renderPayload, slackText } from './payload.ts';
import { displayUrl } from './sinks.ts';

const BASE = 'https://mandate.example.com';
const held: AuditEvent = {
  id: 'ev-1',
  time: '2026-12-02T18:00:00.000Z',
  chain: 'instance:i-1',
  seq: 3,
  type: 'approval.requested',
  actor: { instance: 'i-1', agent: 'deployer', person: 'alice@example.com', delegation: ['alice@example.com'] },
  action: 'tools/call',
  resource: 'github/merge_pr',
  status: 'pending',
  reasons: { approval: 'apr_1', policies: ['prod-merges'], risk: 40, message: 'high impact; new tool (expires 2026-12-02T18:15:00.000Z)' },
  data: { resources: ['call-1', 'apr_1'], expires_at: '2026-12-02T18:15:00.000Z' },
  prev_hash: '0'.repeat(64),
  hash: 'a'.repeat(64),
};

describe('notification payloads', () => {
  it('gives a held call a decide object: the commands, the API calls, the risk and the expiry', () => {
    expect(jsonPayload(held, BASE)).toEqual({
      id: 'ev-1',
      type: 'approval.requested',
      time: held.time,
      event: held,
      decide: {
        approval: 'apr_1',
        risk: 40,
        expires_at: '2026-12-02T18:15:00.000Z',
        cli: { approve: 'mandate approvals approve apr_1', deny: 'mandate approvals deny apr_1', show: 'mandate approvals show apr_1' },
        api: { approve: `POST ${BASE}/v1/approvals/apr_1/approve`, deny: `POST ${BASE}/v1/approvals/apr_1/deny`, show: `GET ${BASE}/v1/approvals/apr_1` },
        consent: { allowed: false, person: 'alice@example.com' },
      },
    });
  });

  it("says when the person may consent and how, in json and chat text, and that an approver must decide otherwise", () => {
    const consentable: AuditEvent = { ...held, data: { ...held.data, consent: true } };
    const how = `POST ${BASE}/v1/approvals/apr_1/consent (Authorization: Bearer <the person's token>)`;
    expect(jsonPayload(consentable, BASE).decide?.consent).toEqual({ allowed: true, person: 'alice@example.com', how });
    expect(slackText(consentable, BASE)).toContain(`Consent: *alice@example.com* may decide it themselves, signed in: ${how}`);
    expect(JSON.parse(renderPayload('slack', consentable, BASE)).text).toContain('/v1/approvals/apr_1/consent');
    expect(slackText(held, BASE)).toContain('Consent: no, an approver must decide');
    expect(slackText(held, BASE)).not.toContain('/consent');
  });

  it('says who, what, how risky, why, until when and how to decide in chat text', () => {
    const text = slackText(held, BASE);
    expect(text).toContain('agent *deployer* acting for *alice@example.com* wants to call `github/merge_pr`');
    expect(text).toContain('Risk: 40 · policies: prod-merges');
    expect(text).toContain('Why: high impact; new tool\n');
    expect(text).toContain('Expires: 2026-12-02T18:15:00.000Z');
    expect(text).toContain('`mandate approvals approve apr_1` or `mandate approvals deny apr_1`');
    expect(JSON.parse(renderPayload('slack', held, BASE))).toEqual({ text });
  });

  it('renders any other trail event without decide links, for sinks that follow other types', () => {
    const granted: AuditEvent = { ...held, type: 'approval.granted', status: 'success', reasons: { approval: 'apr_1', message: 'ok' } };
    expect(jsonPayload(granted, BASE)).not.toHaveProperty('decide');
    expect(slackText(granted, BASE)).toBe('Mandate: approval.granted success — agent *deployer* acting for *alice@example.com* on `github/merge_pr`: ok (event ev-1)');
  });
});

describe('sink views', () => {
  it('renders an alert in chat text with its severity, rule and message', () => {
    const alert: AuditEvent = {
      ...held,
      type: 'alert.raised',
      chain: 'system',
      status: 'success',
      resource: 'deployer',
      reasons: { message: 'agent deployer had 20 calls refused within 60 s' },
      data: { rule: 'refusal-burst', severity: 'critical', resources: ['ev-0'] },
    };
    expect(slackText(alert, BASE)).toBe(':rotating_light: Mandate alert (critical, refusal-burst): agent deployer had 20 calls refused within 60 s (event ev-1)');
    expect(jsonPayload(alert, BASE)).toEqual({ id: 'ev-1', type: 'alert.raised', time: held.time, event: alert });
  });

  it('show a webhook URL without the path or query that may carry its credential', () => {
    expect(displayUrl('https://hooks.slack.com/services/T000/B000/XXXXSECRET')).toBe('https://hooks.slack.com/services/…');
    expect(displayUrl('https://example.webhook.office.com/webhookb2?token=SECRET')).toBe('https://example.webhook.office.com/webhookb2/…');
    expect(displayUrl('http://127.0.0.1:8080/hook')).toBe('http://127.0.0.1:8080/hook');
    expect(displayUrl('https://hooks.example.com')).toBe('https://hooks.example.com/');
  });
});
