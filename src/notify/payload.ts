import type { AuditEvent } from '../audit/event.ts';
import type { SinkFormat } from './sink-spec.ts';

/**
 * What a sink receives for one event. `json`: the event as the trail holds it, plus for a held
 * call a `decide` object (the CLI commands and API URLs that decide it). `slack`: an
 * incoming-webhook `{ "text": … }` that Slack and Microsoft Teams both render.
 */
export interface Decide {
  approval: string;
  risk: number;
  expires_at: string | null;
  cli: { approve: string; deny: string; show: string };
  api: { approve: string; deny: string; show: string };
  /**
   * Whether the person the agent acts for may decide it themselves, signed in with a token from a
   * trusted issuer; `how` is only there when they may.
   */
  consent: { allowed: boolean; person: string | null; how?: string };
}

export function decideOf(event: AuditEvent, baseUrl: string): Decide | undefined {
  const id = event.reasons?.approval;
  if (event.type !== 'approval.requested' || !id) return undefined;
  const at = `${baseUrl}/v1/approvals/${encodeURIComponent(id)}`;
  return {
    approval: id,
    risk: event.reasons?.risk ?? 0,
    expires_at: event.data?.expires_at ?? null,
    cli: { approve: `mandate approvals approve ${id}`, deny: `mandate approvals deny ${id}`, show: `mandate approvals show ${id}` },
    api: { approve: `POST ${at}/approve`, deny: `POST ${at}/deny`, show: `GET ${at}` },
    consent: event.data?.consent === true
      ? { allowed: true, person: event.actor.person ?? null, how: `POST ${at}/consent (Authorization: Bearer <the person's token>)` }
      : { allowed: false, person: event.actor.person ?? null },
  };
}

export function jsonPayload(event: AuditEvent, baseUrl: string) {
  const decide = decideOf(event, baseUrl);
  return { id: event.id, type: event.type, time: event.time, event, ...(decide ? { decide } : {}) };
}

/** The reasons a held call gives, without the expiry the message ends with. */
const reasonsOf = (event: AuditEvent) => (event.reasons?.message ?? '').replace(/ \(expires [^)]*\)$/, '');

export function slackText(event: AuditEvent, baseUrl: string): string {
  const who = `agent *${event.actor.agent ?? event.actor.instance ?? 'unknown'}*${event.actor.person ? ` acting for *${event.actor.person}*` : ''}`;
  if (event.type === 'alert.raised') {
    return `${event.data?.severity === 'critical' ? ':rotating_light:' : ':warning:'} Mandate alert (${event.data?.severity ?? 'warning'}, ${event.data?.rule ?? 'rule'}): ${event.reasons?.message ?? ''} (event ${event.id})`;
  }
  const decide = decideOf(event, baseUrl);
  if (!decide) {
    return `Mandate: ${event.type} ${event.status} — ${who}${event.resource ? ` on \`${event.resource}\`` : ''}${event.reasons?.message ? `: ${event.reasons.message}` : ''} (event ${event.id})`;
  }
  const lines = [
    `:raised_hand: Mandate holds a call for approval — ${who} wants to call \`${event.resource ?? event.action ?? '?'}\``,
    `Risk: ${decide.risk}${event.reasons?.policies?.length ? ` · policies: ${event.reasons.policies.join(', ')}` : ''}`,
    `Why: ${reasonsOf(event) || 'policy asks for approval'}`,
    `Expires: ${decide.expires_at ?? 'see the approval'} (unanswered, the call stays refused)`,
    `Decide: \`${decide.cli.approve}\` or \`${decide.cli.deny}\` (API: ${decide.api.approve})`,
    decide.consent.how
      ? `Consent: *${decide.consent.person}* may decide it themselves, signed in: ${decide.consent.how}`
      : 'Consent: no, an approver must decide',
    `Approval ${decide.approval} · event ${event.id}`,
  ];
  return lines.join('\n');
}

/** The request body for a sink of this format. */
export function renderPayload(format: SinkFormat, event: AuditEvent, baseUrl: string): string {
  return JSON.stringify(format === 'slack' ? { text: slackText(event, baseUrl) } : jsonPayload(event, baseUrl));
}
