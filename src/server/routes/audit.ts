import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { type CheckpointKey, deriveCheckpointKey } from '../../audit/checkpoint-key.ts';
import { exportLine, EXPORT_FORMATS, exportContentType } from '../../audit/export/stream.ts';
import {
  createCheckpoint,
  type EventFilter,
  latestCheckpoint,
  listCheckpoints,
  proveConsistency,
  proveInclusion,
  instantFrom,
  queryEvents,
  readHead,
  streamEvents,
} from '../../audit/log-store.ts';
import { searchDigest } from '../../audit/redact.ts';
import { decisionsPerMinute } from '../../audit/decision-rate.ts';
import { verifyAuditLog } from '../../audit/verify-log.ts';
import { SYSTEM_CHAIN } from '../../audit/writer.ts';
import { refusal } from '../../errors.ts';
import { parseOrThrow } from '../../validation.ts';
import { VERSION } from '../app.ts';
import type { ServerContext } from '../context.ts';
import { adminActor } from '../access.ts';

const text = (max: number) => z.string().min(1).max(max);
/** An ISO-8601 instant, or a duration back from now (`15m`, `24h`, `7d`). */
const instant = z.string().max(64);

const filterShape = {
  chain: text(300).optional(),
  agent: text(600).optional(),
  instance: text(600).optional(),
  person: text(600).optional(),
  resource: text(4096).optional(),
  action: text(1024).optional(),
  decision: z.enum(['allow', 'deny']).optional(),
  status: z.enum(['success', 'failure', 'pending']).optional(),
  type: text(128).optional(),
  trace_id: z.string().regex(/^[0-9a-f]{32}$/).optional(),
  args_digest: z.string().regex(/^hmac-sha256:[0-9a-f]{64}$/).optional(),
  since: instant.optional(),
  until: instant.optional(),
};
const eventsQuery = z.strictObject({
  ...filterShape,
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(64).optional(),
  order: z.enum(['asc', 'desc']).default('asc'),
});
const exportQuery = z.strictObject({ ...filterShape, format: z.enum(EXPORT_FORMATS).default('jsonl') });
const size = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const inclusionQuery = z.strictObject({ index: size, size: size.optional() });
const consistencyQuery = z.strictObject({ from: size, to: size.optional() });
const checkpointsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(20),
  before: size.optional(),
});
const verifyQuery = z.strictObject({
  chain: text(300).optional(),
  deep: z.enum(['true', 'false', '1', '0']).optional(),
});
const verifyBody = z.strictObject({
  chain: text(300).optional(),
  deep: z.boolean().optional(),
  /** Checkpoints saved earlier (signed notes), to detect rollback and forks. */
  checkpoints: z.array(z.string().min(1).max(64 * 1024)).max(16).optional(),
});
const digestBody = z.strictObject({ value: z.json() });
const decisionsQuery = z.strictObject({ since: instant.default('15m') });

/**
 * The audit trail (issue 5): query, export, verify, checkpoints and RFC 9162 proofs. Reads need
 * an admin or auditor token; the current checkpoint and its verifier key are public so outside
 * witnesses can follow the log.
 */
export function auditRoutes(app: FastifyInstance, ctx: ServerContext) {
  let key: CheckpointKey | undefined;
  const checkpointKey = () => (key ??= deriveCheckpointKey(ctx.masterKey.bytes, ctx.trustDomain));

  app.get('/v1/audit/events', async (request) => {
    const { limit, cursor, order, ...filter } = parseOrThrow(eventsQuery, request.query, 'query');
    return queryEvents(ctx.store.db, toFilter(filter, ctx.now()), { limit, cursor, order });
  });

  app.get('/v1/audit/decisions', async (request) => {
    const query = parseOrThrow(decisionsQuery, request.query, 'query');
    const since = instantFrom(query.since, ctx.now(), 'since')!;
    return { since, ...(await decisionsPerMinute(ctx.store.db, since)) };
  });

  app.get('/v1/audit/export', async (request, reply) => {
    const { format, ...filter } = parseOrThrow(exportQuery, request.query, 'query');
    const events = streamEvents(ctx.store.db, toFilter(filter, ctx.now()));
    const lines = (async function* () {
      for await (const event of events) yield exportLine(format, event, VERSION);
    })();
    reply.type(exportContentType(format));
    reply.header('content-disposition', `attachment; filename="mandate-audit.${format === 'cef' ? 'cef' : 'jsonl'}"`);
    return reply.send(Readable.from(lines));
  });

  app.get('/v1/audit/checkpoints', async (request) => {
    const { limit, before } = parseOrThrow(checkpointsQuery, request.query, 'query');
    const { origin, vkey } = checkpointKey();
    const head = await readHead(ctx.store.db);
    return { origin, vkey, size: head.size, checkpoints: await listCheckpoints(ctx.store.db, { limit, before }) };
  });

  // The latest signed checkpoint alone, as witnesses fetch it (C2SP tlog-checkpoint text).
  app.get('/v1/audit/checkpoint', async (_request, reply) => {
    const latest = await latestCheckpoint(ctx.store.db);
    if (!latest) throw refusal('ERR_AUDIT_NO_CHECKPOINT', 'no checkpoint has been signed yet');
    return reply.type('text/plain; charset=utf-8').send(latest.note);
  });

  app.post('/v1/audit/checkpoints', async (_request, reply) => {
    reply.status(201);
    return createCheckpoint(ctx.store.db, checkpointKey(), ctx.now());
  });

  app.get('/v1/audit/proof/inclusion', async (request) => {
    const query = parseOrThrow(inclusionQuery, request.query, 'query');
    return proveInclusion(ctx.store.db, query.index, query.size ?? (await defaultSize(ctx)));
  });

  app.get('/v1/audit/proof/consistency', async (request) => {
    const query = parseOrThrow(consistencyQuery, request.query, 'query');
    return proveConsistency(ctx.store.db, query.from, query.to ?? (await defaultSize(ctx)));
  });

  app.get('/v1/audit/verify', async (request) => {
    const query = parseOrThrow(verifyQuery, request.query, 'query');
    const deep = query.deep === 'true' || query.deep === '1';
    return verify(ctx, checkpointKey(), { chain: query.chain, deep });
  });

  app.post('/v1/audit/verify', async (request) => {
    const body = parseOrThrow(verifyBody, request.body ?? {}, 'verify request');
    return verify(ctx, checkpointKey(), { chain: body.chain, deep: body.deep ?? false, saved: body.checkpoints ?? [] });
  });

  // Investigators find the events that carried a value they know without the trail holding it.
  app.post('/v1/audit/digest', async (request) => {
    const { value } = parseOrThrow(digestBody, request.body ?? {}, 'digest request');
    const digest = searchDigest(value, ctx.auditKey);
    // The digest is an oracle for guessed values: who asked for one is itself on the record.
    await ctx.audit.append({
      chain: SYSTEM_CHAIN,
      type: 'admin.digest_computed',
      actor: adminActor(request.admin),
      action: 'audit:digest',
      resource: digest,
      status: 'success',
      reasons: { message: `by ${request.admin?.person ?? 'admin'}` },
    });
    return { digest, search: `/v1/audit/events?args_digest=${digest}` };
  });
}

async function verify(ctx: ServerContext, key: CheckpointKey, options: { chain?: string | undefined; deep: boolean; saved?: string[] }) {
  const report = await verifyAuditLog(ctx.store.db, { ...options, trusted: [key.verifier], origin: key.origin });
  if (!report.ok) await ctx.alerts?.verificationFailed(report.breaks.length, options.chain ? `chain ${options.chain}` : 'the whole trail');
  return report;
}

/** Proofs default to the latest signed checkpoint's size: the one witnesses hold. */
async function defaultSize(ctx: ServerContext): Promise<number> {
  const latest = await latestCheckpoint(ctx.store.db);
  if (!latest) throw refusal('ERR_AUDIT_NO_CHECKPOINT', 'no checkpoint has been signed yet: give the tree size');
  return latest.size;
}

function toFilter(query: Omit<EventFilter, 'since' | 'until'> & { since?: string | undefined; until?: string | undefined }, now: Date): EventFilter {
  return { ...query, since: instantFrom(query.since, now, 'since'), until: instantFrom(query.until, now, 'until') };
}
