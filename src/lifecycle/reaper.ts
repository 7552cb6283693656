import { instanceChain, SYSTEM_CHAIN } from '../audit/writer.ts';
import { revokeAnnounced } from '../cluster/revoke.ts';
import { agentsRepository } from '../store/repositories/agents.ts';
import { agentFlagsRepository } from '../store/repositories/agent-flags.ts';
import { type InstanceRow, instancesRepository } from '../store/repositories/instances.ts';
import { inventoryRepository } from '../store/repositories/inventory.ts';
import { mandatesRepository } from '../store/repositories/mandates.ts';
import { reapingRepository } from '../store/repositories/reaping.ts';
import { revokeMandates } from '../tokens/revocation.ts';
import type { LifecycleDeps } from './deps.ts';
import { suspendDueOrphans } from './owners.ts';
import { suspendForLifecycle } from './suspend.ts';

/**
 * Clean-up: instances idle past a configured time are revoked (their mandates end), agents unused
 * for N days are flagged stale (and suspended if configured), orphans past their grace period are
 * suspended, and join tokens and operator tokens past expiry are purged. Every change is audited.
 *
 * Several replicas may reap at once: each change is a conditional update (an instance is revoked
 * only while active, an agent suspended only while active, a flag raised only once, a token
 * deleted only if still there and expired), and only the replica whose update took effect audits
 * it. A dry run reports what a run would do and changes nothing.
 */
export interface ReapPolicy {
  /** Seconds without activity before an instance is revoked; 0: never. */
  instanceIdleSeconds: number;
  /** Days without activity before an agent is flagged stale; 0: never. */
  agentUnusedDays: number;
  suspendUnused: boolean;
}

export interface ReapReport {
  dry_run: boolean;
  at: string;
  instances_revoked: Array<{ id: string; agent: string; last_activity: string; mandates_ended: number }>;
  agents_flagged: Array<{ id: string; last_activity: string }>;
  agents_suspended: string[];
  orphans_suspended: string[];
  join_tokens_purged: string[];
  operator_tokens_purged: string[];
}

const DAY = 86_400_000;
/** Instances revoked in one transaction. */
const CHUNK = 50;

export async function reap(deps: LifecycleDeps, policy: ReapPolicy, options: { dryRun?: boolean } = {}): Promise<ReapReport> {
  const dryRun = options.dryRun === true;
  const now = deps.now();
  const at = now.toISOString();
  const report: ReapReport = { dry_run: dryRun, at, instances_revoked: [], agents_flagged: [], agents_suspended: [], orphans_suspended: [], join_tokens_purged: [], operator_tokens_purged: [] };
  const db = deps.store.db;
  const inventory = inventoryRepository(db);

  if (policy.instanceIdleSeconds > 0) {
    const cutoff = new Date(now.getTime() - policy.instanceIdleSeconds * 1000).toISOString();
    const idle: Array<{ instance: InstanceRow; last: string }> = [];
    for (const instance of await instancesRepository(db).list()) {
      if (instance.status !== 'active') continue;
      const last = (await inventory.instanceActivity(instance.id)) ?? instance.created_at;
      if (last <= cutoff) idle.push({ instance, last });
    }
    if (dryRun) {
      for (const { instance, last } of idle) {
        report.instances_revoked.push({ id: instance.id, agent: instance.agent_id, last_activity: last, mandates_ended: (await mandatesRepository(db).unrevokedOfInstance(instance.id)).length });
      }
    }
    // A chunk of instances per transaction; their events are appended together (group commit).
    for (let i = 0; !dryRun && i < idle.length; i += CHUNK) {
      const chunk = idle.slice(i, i + CHUNK);
      const won: Array<{ instance: InstanceRow; last: string; ended: string[] }> = [];
      await revokeAnnounced(
        deps.store,
        deps.changes,
        async (trx) => {
          const all: string[] = [];
          for (const { instance, last } of chunk) {
            if (!(await instancesRepository(trx).revoke(instance.id, at))) continue;
            const ended = await revokeMandates(trx, await mandatesRepository(trx).unrevokedOfInstance(instance.id), now);
            won.push({ instance, last, ended });
            all.push(...ended);
          }
          return all;
        },
        chunk.map(({ instance }) => ({ kind: 'instance.revoked' as const, id: instance.id })),
      );
      await Promise.all(
        won.map(async ({ instance, last, ended }) => {
          await deps.audit.append({
            chain: instanceChain(instance.id),
            type: 'lifecycle.revoked',
            actor: { instance: instance.id, agent: instance.agent_id, person: null, delegation: [] },
            action: 'instance:revoke',
            resource: instance.spiffe_id,
            status: 'success',
            data: { resources: ended },
            reasons: { message: `idle since ${last} (longer than ${policy.instanceIdleSeconds} s): revoked by the reaper` },
          });
          await deps.audit.sealChain(instanceChain(instance.id), { agent: instance.agent_id });
        }),
      );
      for (const { instance, last, ended } of won) report.instances_revoked.push({ id: instance.id, agent: instance.agent_id, last_activity: last, mandates_ended: ended.length });
    }
  }

  if (policy.agentUnusedDays > 0) {
    const cutoff = new Date(now.getTime() - policy.agentUnusedDays * DAY).toISOString();
    const flags = agentFlagsRepository(db);
    for (const agent of await agentsRepository(db).list({ status: 'active' })) {
      // A card changed or resumed since counts as fresh: a resumed agent gets its N days again.
      const last = [(await inventory.agentActivity(agent.id)) ?? agent.created_at, agent.updated_at].sort().at(-1)!;
      if (last > cutoff) {
        if (!dryRun) await flags.lower(agent.id, 'stale');
        continue;
      }
      const reason = `unused since ${last} (more than ${policy.agentUnusedDays} days)`;
      if (dryRun) {
        report.agents_flagged.push({ id: agent.id, last_activity: last });
        if (policy.suspendUnused) report.agents_suspended.push(agent.id);
        continue;
      }
      if (await flags.raise({ agent_id: agent.id, flag: 'stale', since: at, reason, due_at: null })) {
        await deps.audit.append({
          chain: SYSTEM_CHAIN,
          type: 'lifecycle.flagged',
          actor: { instance: null, agent: agent.id, person: null, delegation: [] },
          action: 'agent:flag',
          resource: agent.id,
          status: 'success',
          reasons: { message: `stale: ${reason}` },
        });
        report.agents_flagged.push({ id: agent.id, last_activity: last });
      }
      if (policy.suspendUnused && (await suspendForLifecycle(deps, agent.id, `stale: ${reason}`))) report.agents_suspended.push(agent.id);
    }
  }

  report.orphans_suspended = await suspendDueOrphans(deps, dryRun);

  const reaping = reapingRepository(db);
  const joinTokens = await reaping.expiredJoinTokens(at);
  const operatorTokens = await reaping.expiredOperatorTokens(at);
  report.join_tokens_purged = dryRun ? joinTokens : await reaping.purgeJoinTokens(joinTokens, at);
  report.operator_tokens_purged = dryRun ? operatorTokens : await reaping.purgeOperatorTokens(operatorTokens, at);
  const purged = [...report.join_tokens_purged.map((id) => `join_token:${id}`), ...report.operator_tokens_purged.map((id) => `operator_token:${id}`)];
  if (!dryRun && purged.length > 0) {
    await deps.audit.append({
      chain: SYSTEM_CHAIN,
      type: 'lifecycle.purged',
      actor: { instance: null, agent: null, person: null, delegation: [] },
      action: 'tokens:purge',
      resource: 'expired tokens',
      status: 'success',
      data: { resources: purged },
      reasons: { message: `${report.join_tokens_purged.length} join token(s) and ${report.operator_tokens_purged.length} operator token(s) past expiry purged` },
    });
  }
  return report;
}

/** Bounds of the periodic run (the configuration refuses anything else). */
export const REAP_INTERVAL = { min: 60, max: 86_400 } as const;

/**
 * Run the reaper every `intervalSeconds` in this process (0: never). A run that fails is logged
 * and the next one tries again; runs never overlap.
 */
export function scheduleReaper(
  deps: LifecycleDeps,
  policy: ReapPolicy,
  intervalSeconds: number,
  onError: (error: unknown) => void,
): { stop(): Promise<void> } {
  if (intervalSeconds === 0) return { stop: async () => {} };
  const every = Math.min(REAP_INTERVAL.max, Math.max(REAP_INTERVAL.min, intervalSeconds)) * 1000;
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = reap(deps, policy)
      .then(() => undefined, onError)
      .finally(() => {
        running = undefined;
      });
  }, every);
  timer.unref();
  return {
    stop: async () => {
      clearInterval(timer);
      await running;
    },
  };
}
