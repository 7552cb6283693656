// RFC 8693 §2.1 — token exchange request parameters
import { z } from 'zod';
import { MandateError } from '../../errors.ts';
import { TOKEN_EXCHANGE_GRANT, TOKEN_TYPE } from '../../jose/token-types.ts';
import { parseRecordDetail, RECORD_DETAIL_TYPE, type RecordConstraints } from '../records.ts';

const MAX_TOKEN = 8 * 1024;
const one = (v: unknown) => (Array.isArray(v) ? v : [v]);

/** authorization_details (RFC 9396) entry describing the task a mandate is for. */
const taskDetail = z.strictObject({
  type: z.literal('mandate_task'),
  task_id: z.string().min(1).max(200).optional(),
  description: z.string().max(1000).optional(),
  budget: z.number().nonnegative().finite().optional(),
});

const schema = z.object({
  grant_type: z.string(),
  subject_token: z.string().min(1).max(MAX_TOKEN),
  subject_token_type: z.enum([TOKEN_TYPE.accessToken, TOKEN_TYPE.jwt, TOKEN_TYPE.idToken]),
  actor_token: z.string().min(1).max(MAX_TOKEN).optional(),
  actor_token_type: z.literal(TOKEN_TYPE.jwt).optional(),
  scope: z.string().max(16 * 1024).optional(),
  resource: z.union([z.string(), z.array(z.string()).max(16)]).optional(),
  requested_token_type: z.literal(TOKEN_TYPE.accessToken).optional(),
  authorization_details: z.string().max(8 * 1024).optional(),
});

export interface ExchangeRequest {
  subjectToken: string;
  subjectTokenType: string;
  actorToken: string;
  scope: string;
  resources: string[];
  task: z.infer<typeof taskDetail> | undefined;
  /** Record constraints asked for (`mandate_record`, RFC 9396), if any. */
  records: RecordConstraints | undefined;
}

const invalid = (message: string) => new MandateError('ERR_EXCHANGE_REQUEST', message);

export function parseExchangeRequest(form: unknown): ExchangeRequest {
  const grant = (form as { grant_type?: unknown } | null)?.grant_type;
  if (grant !== TOKEN_EXCHANGE_GRANT) {
    throw new MandateError('ERR_GRANT_TYPE_UNSUPPORTED', `grant_type must be ${TOKEN_EXCHANGE_GRANT}`);
  }
  const parsed = schema.safeParse(form);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw invalid(`${issue.path.join('.') || 'request'}: ${issue.message}`);
  }
  const p = parsed.data;
  // RFC 8693 §2.1: an agent never acts as the person with no attribution; the actor is required.
  if (!p.actor_token) throw invalid('actor_token is required: an agent instance must identify itself');
  if (!p.scope?.trim()) {
    throw new MandateError('ERR_SCOPE_INVALID', 'scope is required: name the tools the task needs');
  }
  const resources = p.resource === undefined ? [] : one(p.resource).map(String);
  if (resources.length === 0) {
    throw new MandateError('ERR_TARGET_INVALID', 'resource is required: the enforcement point the mandate is for');
  }
  let task: ExchangeRequest['task'];
  let records: RecordConstraints | undefined;
  if (p.authorization_details) {
    let details: unknown;
    try {
      details = JSON.parse(p.authorization_details);
    } catch {
      throw invalid('authorization_details is not JSON');
    }
    if (!Array.isArray(details) || details.length > 2) throw invalid('authorization_details must be a JSON array of at most two entries');
    const typeOf = (entry: unknown) => (entry as { type?: unknown } | null)?.type;
    // RFC 9396 §5: a type the server does not know is `invalid_authorization_details`.
    const unknown = details.find((entry) => typeOf(entry) !== 'mandate_task' && typeOf(entry) !== RECORD_DETAIL_TYPE);
    if (unknown !== undefined) {
      throw new MandateError('ERR_AUTHORIZATION_DETAILS_INVALID', `authorization_details: unknown type ${JSON.stringify(String(typeOf(unknown) ?? '')).slice(0, 80)}; known: mandate_task, ${RECORD_DETAIL_TYPE}`);
    }
    const tasks = details.filter((entry) => typeOf(entry) === 'mandate_task');
    const recordEntries = details.filter((entry) => typeOf(entry) === RECORD_DETAIL_TYPE);
    if (recordEntries.length > 1) throw new MandateError('ERR_AUTHORIZATION_DETAILS_INVALID', `authorization_details: at most one ${RECORD_DETAIL_TYPE} entry`);
    const list = z.array(taskDetail).max(1).safeParse(tasks);
    if (!list.success) throw invalid(`authorization_details: ${list.error.issues[0]?.message}`);
    task = list.data[0];
    records = recordEntries.length ? parseRecordDetail(recordEntries[0]) : undefined;
  }
  return { subjectToken: p.subject_token, subjectTokenType: p.subject_token_type, actorToken: p.actor_token, scope: p.scope, resources, task, records };
}
