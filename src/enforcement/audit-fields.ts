import type { Principal } from '../tokens/verify-request.ts';

/** Who acted, as every decision and result event names it: instance, agent, person, chain. */
export const actorOf = (p: Principal) => ({ instance: p.instanceId, agent: p.agentId, person: p.person, delegation: p.delegation });

/** `data.method` for a broker call whose method is an HTTP token (anything else is left out). */
export const methodOf = (request: { httpMethod?: string | undefined }): { method?: string } =>
  request.httpMethod && /^[A-Z]{1,20}$/.test(request.httpMethod) ? { method: request.httpMethod } : {};
