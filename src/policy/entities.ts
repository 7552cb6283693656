/**
 * The Cedar entities of a request, built at decision time from the agent card and the resource:
 * the principal Instance (its card's facts, in its Agent and its card's Roles), and the resource with
 * the ancestors that make it part of a server, a connection or the agent's toolset.
 */
import type { EntityJson } from '@cedar-policy/cedar-wasm/nodejs';
import type { AgentCardFacts, PrincipalInput, ResourceInput } from './request.ts';
import { NAMESPACE } from './schema.ts';
import { type Uid, uid } from './uid.ts';

export interface ResourceEntities {
  readonly uid: Uid;
  /** The resource first, then any ancestor entity that has parents of its own. */
  readonly entities: readonly EntityJson[];
  /** Ancestors fixed by the resource's id alone (a tool's server, an endpoint's connection). */
  readonly ancestors: readonly Uid[];
  /** Every ancestor of the resource. */
  readonly closure: readonly Uid[];
}

/** For each resource type, the ancestor types fixed by the id alone (see `ancestors`). */
export const STATIC_ANCESTOR_TYPES: ReadonlyMap<string, readonly string[]> = new Map([
  [`${NAMESPACE}::Tool`, [`${NAMESPACE}::Server`]],
  [`${NAMESPACE}::Endpoint`, [`${NAMESPACE}::Connection`]],
]);

const ref = (u: Uid) => ({ __entity: u });

function cardAttributes(card: AgentCardFacts) {
  return {
    environment: card.environment,
    ...(card.owner === null ? {} : { owner: ref(uid('User', card.owner)) }),
    toolset: ref(uid('Toolset', card.id)),
  };
}

export function principalEntity(principal: PrincipalInput): EntityJson {
  const card = principal.agent;
  return {
    uid: uid('Instance', principal.instance),
    attrs: cardAttributes(card),
    parents: [uid('Agent', card.id), ...card.roles.map((r) => uid('Role', r))],
  };
}

/** Does the card's toolset list this server or connection whole? */
const listsWhole = (toolset: readonly string[], container: string) =>
  toolset.includes(container) || toolset.includes(`${container}/*`);

/** …or any tool or endpoint of it? (What `tools/list` or an audience needs.) */
const listsAny = (toolset: readonly string[], container: string) =>
  listsWhole(toolset, container) || toolset.some((entry) => entry.startsWith(`${container}/`));

/**
 * An endpoint named `<METHOD> <path>` (the broker's) as structured data, so a policy can name a
 * subtree: `resource.pathPrefixes.contains("/admin")` holds for `/admin` and everything under it.
 * Other endpoint names (`refunds.create`) have an empty method, path and prefix set.
 */
export function endpointPath(name: string): { method: string; path: string; pathPrefixes: string[] } {
  const match = /^([A-Z]{1,20}) (\/[^ ]*)$/.exec(name);
  if (!match) return { method: '', path: '', pathPrefixes: [] };
  const path = match[2]!.length > 1 ? match[2]!.replace(/\/$/, '') : '/';
  const segments = path.split('/').slice(1).filter((s) => s !== '');
  const pathPrefixes = ['/', ...segments.map((_, i) => `/${segments.slice(0, i + 1).join('/')}`)];
  return { method: match[1]!, path, pathPrefixes };
}

export function resourceEntities(resource: ResourceInput, card: AgentCardFacts): ResourceEntities {
  const toolset = uid('Toolset', card.id);
  const inToolset = (listed: boolean) => (listed ? [toolset] : []);
  switch (resource.type) {
    case 'tool':
    case 'endpoint': {
      const [containerType, memberType, container] =
        resource.type === 'tool'
          ? ['Server', 'Tool', resource.server]
          : ['Connection', 'Endpoint', resource.connection];
      const id = `${container}/${resource.name}`;
      const parent = uid(containerType, container);
      const member: EntityJson = {
        uid: uid(memberType, id),
        attrs: resource.type === 'endpoint' ? { highImpact: resource.highImpact, ...endpointPath(resource.name) } : { highImpact: resource.highImpact },
        parents: [parent, ...inToolset(card.toolset.includes(id))],
      };
      const whole = listsWhole(card.toolset, container);
      const entities = whole ? [member, { uid: parent, attrs: {}, parents: [toolset] }] : [member];
      const listed = whole || card.toolset.includes(id);
      return {
        uid: member.uid as Uid,
        entities,
        ancestors: [parent],
        closure: [parent, ...inToolset(listed)],
      };
    }
    case 'server':
    case 'connection': {
      const [type, id] =
        resource.type === 'server' ? ['Server', resource.server] : ['Connection', resource.connection];
      const parents = inToolset(listsAny(card.toolset, id));
      const self: EntityJson = { uid: uid(type, id), attrs: {}, parents };
      return {
        uid: self.uid as Uid,
        entities: [self],
        ancestors: [],
        closure: parents,
      };
    }
    case 'peer': {
      // The card lists `a2a:<peer>/…` items; the policy toolset names them `a2a:<peer>`.
      const parents = inToolset(card.toolset.includes(`a2a:${resource.peer}`));
      const self: EntityJson = { uid: uid('Peer', resource.peer), attrs: { highImpact: resource.highImpact }, parents };
      return { uid: self.uid as Uid, entities: [self], ancestors: [], closure: parents };
    }
    case 'agent': {
      const child = resource.agent;
      const parents = child.roles.map((r) => uid('Role', r));
      const self: EntityJson = {
        uid: uid('Agent', child.id),
        attrs: cardAttributes(child),
        parents,
      };
      return {
        uid: self.uid as Uid,
        entities: [self],
        ancestors: [],
        closure: parents,
      };
    }
  }
}
