import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { applyPolicySet, type CommitPolicySet } from '../../policy/apply.ts';
import { recordPolicySet, runningPolicySet } from '../../policy/stored.ts';
import { authorizeAuthZen, toAuthZen } from '../../policy/authzen.ts';
import { explain } from '../../policy/explain.ts';
import { formatLocation } from '../../policy/location.ts';
import { loadPolicySet } from '../../policy/policy-set.ts';
import { findAgent } from '../../registry/agents.ts';
import { policyToolset } from '../../enforcement/decision-request.ts';
import { checkIdentifier, parseOrThrow } from '../../validation.ts';
import type { AgentCardFacts } from '../../policy/request.ts';
import type { ServerContext } from '../context.ts';
import { adminActor } from '../access.ts';
import { groupName } from '../../tokens/entitlements.ts';
import { explainScope, unknownAgent } from '../../tokens/exchange/explain-scope.ts';

const scopeQuestion = z.strictObject({
  agent: z.string().min(1).max(200),
  person: z.string().min(1).max(500),
  groups: z.array(groupName).max(200).default([]),
  scope: z.string().trim().min(1, 'scope is required: name the items asked for').max(16 * 1024),
});

const filesBody = z.strictObject({
  files: z
    .array(z.strictObject({ file: z.string().regex(/^[A-Za-z0-9_.-]{1,100}\.cedar$/, 'must be a .cedar file name'), text: z.string().max(512 * 1024) }))
    .min(1)
    .max(500),
});

/** Stores a set as the running one and tells every replica; each reloads it from the database. */
export const commitPolicySet =
  (ctx: ServerContext, by: string): CommitPolicySet =>
  (set) =>
    ctx.changes.transaction(async (trx, emit) => {
      await recordPolicySet(trx, set, by, ctx.now());
      await emit({ kind: 'policy.applied', version: set.version });
    });

function writePolicyDir(dir: string, files: ReadonlyArray<{ file: string; text: string }>): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const staging = fs.mkdtempSync(path.join(dir, '..', '.policies-'));
  for (const { file, text } of files) fs.writeFileSync(path.join(staging, file), text, { mode: 0o600 });
  for (const old of fs.readdirSync(dir)) if (old.endsWith('.cedar')) fs.rmSync(path.join(dir, old));
  for (const { file } of files) fs.renameSync(path.join(staging, file), path.join(dir, file));
  fs.rmSync(staging, { recursive: true, force: true });
}

/**
 * The names a decision request is about, by where they sit in an AuthZEN body or a decision
 * request: each must be in its canonical form (see `checkIdentifier`), or the request is a 400.
 */
const IDENTIFIER_FIELDS: ReadonlyArray<readonly string[]> = [
  ['subject', 'id'],
  ['subject', 'properties', 'instance'],
  ['action', 'name'],
  ['resource', 'id'],
  ['context', 'person'],
  ['principal', 'instance'],
  ['principal', 'agent', 'id'],
  ['person'],
  ['resource', 'name'],
  ['resource', 'server'],
  ['resource', 'connection'],
];

function checkRequestIdentifiers(body: unknown): void {
  for (const field of IDENTIFIER_FIELDS) {
    let value: unknown = body;
    for (const key of field) value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
    if (typeof value === 'string') checkIdentifier(value, field.join('.'));
  }
}

/** The card facts a decision is asked on: the registry's, for an active agent only. */
async function registeredCard(ctx: ServerContext, id: unknown): Promise<AgentCardFacts | undefined> {
  const card = typeof id === 'string' ? await findAgent(ctx.store.db, id) : undefined;
  if (!card || card.status !== 'active') return undefined;
  return { id: card.id, roles: card.roles, owner: card.owner, environment: card.environment, toolset: policyToolset(card) };
}

/**
 * The policy decision point over HTTP: `POST /v1/authorize` (AuthZEN-style, for enforcement
 * points other than Mandate's own), the running set, apply (validated before it replaces the
 * running set), and explain.
 */
export function policyRoutes(app: FastifyInstance, ctx: ServerContext) {
  app.post('/v1/authorize', async (request) => {
    checkRequestIdentifiers(request.body);
    const facts = await registeredCard(ctx, (request.body as { subject?: { id?: unknown } } | null)?.subject?.id);
    return toAuthZen(authorizeAuthZen(ctx.authorizer, request.body, () => facts));
  });

  app.get('/v1/policies', async (request) => {
    const { files } = parseOrThrow(z.strictObject({ files: z.enum(['true', 'false']).optional() }), request.query, 'query');
    const set = ctx.authorizer.policySet;
    const stored = await runningPolicySet(ctx.store.db);
    return {
      version: set.version,
      policies: [...set.policies.keys()],
      // `context.args` as policies may read it, and the argument shapes Cedar cannot type.
      arguments: { type: set.schema.args.text, notes: set.schema.args.notes },
      applied_at: stored?.appliedAt ?? null,
      applied_by: stored?.appliedBy ?? null,
      ...(ctx.config.deployment === 'single' ? { dir: ctx.policyDir } : {}),
      ...(files === 'true' ? { files: set.sources.map(({ file, text }) => ({ file, text })) } : {}),
    };
  });

  // Validate the new files as a whole first; only then store and announce them: an invalid set never runs.
  app.put('/v1/policies', async (request) => {
    const { files } = parseOrThrow(filesBody, request.body, 'policy set');
    const set = loadPolicySet(files, { schema: ctx.authorizer.policySet.schema });
    // In a single deployment the directory is the source of the running set: it must hold what runs.
    if (ctx.config.deployment === 'single') writePolicyDir(ctx.policyDir, files);
    const applied = await applyPolicySet(ctx.authorizer, set, commitPolicySet(ctx, `admin ${request.admin?.person ?? 'unknown'}`));
    await ctx.audit.append({
      chain: 'system',
      type: 'policy.applied',
      actor: adminActor(request.admin),
      action: 'policy:apply',
      resource: applied.version,
      status: 'success',
      policy_version: applied.version,
      reasons: { message: `from ${applied.previous}` },
    });
    // Cedar's warnings, e.g. "policy is impossible" for a policy on an argument nothing declares.
    const warnings = set.warnings.map((w) => `${formatLocation(w)}: ${w.policy ? `${w.policy}: ` : ''}${w.reason}`);
    return { version: applied.version, previous: applied.previous, changed: applied.changed, ...(warnings.length > 0 ? { warnings } : {}) };
  });

  // The same inputs as /v1/authorize: the registry's card, never the card facts the caller sent.
  app.post('/v1/policies/explain', async (request) => {
    checkRequestIdentifiers(request.body);
    const body = request.body as { subject?: { id?: unknown }; principal?: { agent?: { id?: unknown } } } | null;
    const facts = await registeredCard(ctx, body?.subject ? body.subject.id : body?.principal?.agent?.id);
    return explain(ctx.authorizer.policySet, request.body, { cardOf: () => facts });
  });

  // Which of request, card and person limited a mandate's scope: the exchange's own checks, on the registry's card.
  app.post('/v1/mandates/explain-scope', async (request) => {
    const question = parseOrThrow(scopeQuestion, request.body, 'scope question');
    checkIdentifier(question.agent, 'agent');
    const agent = await findAgent(ctx.store.db, question.agent);
    if (!agent) throw unknownAgent(question.agent);
    return explainScope(ctx.store.db, { agent, person: question.person, groups: question.groups, scope: question.scope });
  });
}
