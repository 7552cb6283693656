// OCSF 1.3.0 event classes for each Mandate event family (see MAPPING.md)
import type { AuditEvent } from '../event.ts';

type Id = [number, string];

export interface OcsfClass {
  category: Id;
  class: Id;
  activity: Id;
  profiles?: string[];
  /** Class-specific attributes, merged at the top level of the OCSF event. */
  attributes: Record<string, unknown>;
}

const HTTP_ACTIVITY: Record<string, Id> = {
  POST: [1, 'Create'],
  GET: [2, 'Read'],
  HEAD: [2, 'Read'],
  PUT: [3, 'Update'],
  PATCH: [3, 'Update'],
  DELETE: [4, 'Delete'],
};

const LIFECYCLE_ACTIVITY: Record<string, Id> = {
  registered: [1, 'Create'],
  provisioned: [1, 'Create'],
  resumed: [2, 'Enable'],
  suspended: [5, 'Disable'],
  deprovisioned: [6, 'Delete'],
  retired: [6, 'Delete'],
  revoked: [6, 'Delete'],
};

/** Pick the OCSF class by event family: the table in MAPPING.md, in code. */
export function ocsfClassOf(event: AuditEvent): OcsfClass {
  const [family = '', verb = ''] = event.type.split('.');
  switch (family) {
    case 'tool':
    case 'http':
    case 'a2a':
      return apiActivity(event, family);
    case 'identity':
    case 'token':
      return authentication(event, family, verb);
    case 'lifecycle':
      return accountChange(event, verb);
    case 'anomaly':
    case 'alert':
      return detectionFinding(event);
    default:
      return { category: [0, 'Uncategorized'], class: [0, 'Base Event'], activity: other(event), attributes: {} };
  }
}

function apiActivity(event: AuditEvent, family: string): OcsfClass {
  const method = family === 'http' ? httpMethodOf(event) : undefined;
  const decided = event.decision === 'allow' || event.decision === 'deny';
  return {
    category: [6, 'Application Activity'],
    class: [6003, 'API Activity'],
    activity: (method && HTTP_ACTIVITY[method]) || other(event),
    profiles: decided ? ['security_control'] : undefined,
    attributes: {
      actor: actor(event),
      api: { operation: event.action ?? event.type },
      src_endpoint: event.actor.instance ? { uid: event.actor.instance, name: event.actor.agent } : undefined,
      resources: resources(event),
      http_request:
        family === 'http' && event.resource
          ? { http_method: method, url: { url_string: event.resource, ...urlPath(event.resource) } }
          : undefined,
      ...(decided ? securityControl(event.decision === 'allow') : {}),
    },
  };
}

function authentication(event: AuditEvent, family: string, verb: string): OcsfClass {
  const activity: Id =
    verb === 'revoked'
      ? [2, 'Logoff']
      : family === 'identity'
        ? [3, 'Authentication Ticket']
        : [4, 'Service Ticket Request'];
  const subject = family === 'token' && event.actor.person ? person(event.actor.person) : agentUser(event);
  return {
    category: [3, 'Identity & Access Management'],
    class: [3002, 'Authentication'],
    activity,
    attributes: {
      actor: actor(event),
      user: subject,
      service: { name: event.resource ?? 'Mandate' },
      auth_protocol_id: family === 'token' ? 6 : 99,
      auth_protocol: family === 'token' ? 'OAUTH 2.0' : 'SPIFFE JWT-SVID',
    },
  };
}

function accountChange(event: AuditEvent, verb: string): OcsfClass {
  return {
    category: [3, 'Identity & Access Management'],
    class: [3001, 'Account Change'],
    activity: LIFECYCLE_ACTIVITY[verb] ?? other(event),
    attributes: {
      actor: event.actor.person ? { user: person(event.actor.person) } : undefined,
      user: agentUser(event),
    },
  };
}

function detectionFinding(event: AuditEvent): OcsfClass {
  return {
    category: [2, 'Findings'],
    class: [2004, 'Detection Finding'],
    activity: [1, 'Create'],
    attributes: {
      finding_info: { uid: event.id, title: event.reasons?.message ?? event.type, types: [event.type] },
      evidences: [{ actor: actor(event), api: event.action ? { operation: event.action } : undefined }],
      resources: resources(event),
    },
  };
}

/**
 * The method of a broker event: recorded in `data.method`; events written before it was recorded
 * may carry it at the start of `action`.
 */
const httpMethodOf = (event: AuditEvent): string | undefined => event.data?.method ?? /^([A-Z]+)\b/.exec(event.action ?? '')?.[1];

/** `<connection> <METHOD> <path>` (the broker's resource label) gives the OCSF `url.path`. */
const urlPath = (resource: string) => {
  const path = /^[^ ]+ [A-Z]+ (\/\S*)$/.exec(resource)?.[1];
  return path ? { path } : {};
};

/** 99 "Other": OCSF then expects the source's own label in the caption. */
const other = (event: AuditEvent): Id => [99, event.type];

function actor(event: AuditEvent) {
  const { person: who, agent, instance } = event.actor;
  const authorizations = (event.reasons?.policies ?? []).map((uid) => ({
    decision: event.decision ?? undefined,
    policy: { uid },
  }));
  return { user: who ? person(who) : undefined, app_name: agent, app_uid: instance, authorizations };
}

const person = (uid: string) => ({ uid, type_id: 1, type: 'User' });

function agentUser(event: AuditEvent) {
  const { agent, instance } = event.actor;
  return { uid: instance ?? agent, name: agent, type_id: 99, type: 'Agent' };
}

function resources(event: AuditEvent) {
  const touched = (event.data?.resources ?? []).map((name) => ({ name }));
  return event.resource ? [{ uid: event.resource }, ...touched] : touched;
}

function securityControl(allowed: boolean) {
  return allowed
    ? { action_id: 1, action: 'Allowed', disposition_id: 1, disposition: 'Allowed' }
    : { action_id: 2, action: 'Denied', disposition_id: 2, disposition: 'Blocked' };
}
