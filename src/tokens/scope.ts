// RFC 6749 §3.3 — scope: Mandate's scope items, their grammar and their algebra
import { MandateError } from '../errors.ts';
import { formatPathGlob, type PathGlob, parsePathGlob, pathCovers } from './scope-path.ts';

/*
 * scope      = item *( SP item )                      ; RFC 6749 §3.3, case-sensitive
 * item       = tool-item / http-item / a2a-item       ; nothing else: no plain names such as admin
 * tool-item  = "tool:" name "/" ( name / "*" )
 * a2a-item   = "a2a:" name "/" ( a2a-method / "*" )    ; an A2A peer and one method (`message/send`)
 * a2a-method = 1*64( ALPHA / DIGIT ) *4( "/" 1*64( ALPHA / DIGIT ) )
 * http-item  = "http:" name ":" ( 1*20UPALPHA / "*" ) ":" path-glob
 * path-glob  = "/" / 1*( "/" segment ) [ "/**" ]      ; segment = pchar literal (not . or ..) or "*"
 * name       = 1*128( ALPHA / DIGIT / "_" / "." / "-" )
 */

/** `tool:<server>/<tool>`, or `tool:<server>/*` for every tool of a server. */
export interface ToolScope {
  kind: 'tool';
  server: string;
  tool: string;
}

/** `http:<connection>:<METHOD>:<path-glob>`; METHOD may be `*`. */
export interface HttpScope {
  kind: 'http';
  connection: string;
  method: string;
  path: PathGlob;
}

/** `a2a:<peer>/<method>` (`a2a:billing/message/send`), or `a2a:<peer>/*` for every method of a peer. */
export interface A2aScope {
  kind: 'a2a';
  peer: string;
  method: string;
}

export type ScopeItem = ToolScope | HttpScope | A2aScope;

/** MCP tool name characters; servers and connections use the same alphabet. */
const NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const METHOD = /^[A-Z]{1,20}$/;
const A2A_METHOD = /^[A-Za-z0-9]{1,64}(?:\/[A-Za-z0-9]{1,64}){0,4}$/;
const MAX_ITEM_LENGTH = 1024;
const MAX_ITEMS = 256;

const invalid = (item: string, why: string) => {
  const shown = item.length > 80 ? `${item.slice(0, 80)}…` : item;
  return new MandateError('ERR_SCOPE_INVALID', `scope item ${JSON.stringify(shown)} is invalid: ${why}`);
};

/** One scope item, normalized; ERR_SCOPE_INVALID naming the item when it is outside the grammar. */
export function parseScopeItem(text: string): ScopeItem {
  if (text.length > MAX_ITEM_LENGTH) throw invalid(text, `longer than ${MAX_ITEM_LENGTH} characters`);
  if (text.startsWith('tool:')) {
    const slash = text.indexOf('/');
    const server = text.slice(5, slash);
    const tool = text.slice(slash + 1);
    if (slash < 0 || !NAME.test(server)) throw invalid(text, 'expected tool:<server>/<tool>');
    if (tool !== '*' && !NAME.test(tool)) throw invalid(text, 'tool must be a tool name or *');
    return { kind: 'tool', server, tool };
  }
  if (text.startsWith('http:')) {
    const [connection = '', method = '', ...rest] = text.slice(5).split(':');
    if (!NAME.test(connection) || rest.length === 0) throw invalid(text, 'expected http:<connection>:<METHOD>:<path>');
    if (method !== '*' && !METHOD.test(method)) throw invalid(text, 'METHOD must be upper case or *');
    const path = parsePathGlob(rest.join(':'), true);
    if (typeof path === 'string') throw invalid(text, path);
    return { kind: 'http', connection, method, path };
  }
  if (text.startsWith('a2a:')) {
    const slash = text.indexOf('/');
    const peer = text.slice(4, slash);
    const method = text.slice(slash + 1);
    if (slash < 0 || !NAME.test(peer)) throw invalid(text, 'expected a2a:<peer>/<method>');
    if (method !== '*' && !A2A_METHOD.test(method)) throw invalid(text, 'method must be an A2A method (message/send) or *');
    return { kind: 'a2a', peer, method };
  }
  throw invalid(text, 'unknown kind; expected tool:…, http:… or a2a:…');
}

export function formatScopeItem(item: ScopeItem): string {
  if (item.kind === 'tool') return `tool:${item.server}/${item.tool}`;
  if (item.kind === 'a2a') return `a2a:${item.peer}/${item.method}`;
  return `http:${item.connection}:${item.method}:${formatPathGlob(item.path)}`;
}

/** A space-delimited scope string (RFC 6749 §3.3) as items, normalized and without duplicates. */
export function parseScope(scope: string): ScopeItem[] {
  const tokens = scope.split(' ').filter((token) => token !== '');
  if (tokens.length > MAX_ITEMS) {
    throw new MandateError('ERR_SCOPE_INVALID', `scope has ${tokens.length} items, at most ${MAX_ITEMS}`);
  }
  const items = new Map<string, ScopeItem>();
  for (const token of tokens) {
    const item = parseScopeItem(token);
    items.set(formatScopeItem(item), item);
  }
  return [...items.values()];
}

export const formatScope = (items: readonly ScopeItem[]): string => items.map(formatScopeItem).join(' ');

/** A call to enforce: a scope item without wildcards (`tool:s/t`, `http:c:GET:/a/b`). */
export function parseScopeRequest(text: string): ScopeItem {
  const item = parseScopeItem(text);
  const wild =
    item.kind === 'tool' ? item.tool === '*' : item.kind === 'a2a' ? item.method === '*' : item.method === '*' || item.path.some((s) => s === '*' || s === '**');
  if (wild) throw invalid(text, 'a request names one tool or one method and path, without wildcards');
  return item;
}

/**
 * Does `granted` allow everything `wanted` allows? Exact containment of what the two items
 * match; items of different kinds, servers or connections never cover each other.
 */
export function covers(granted: ScopeItem, wanted: ScopeItem): boolean {
  if (granted.kind === 'tool') {
    return (
      wanted.kind === 'tool' &&
      granted.server === wanted.server &&
      (granted.tool === '*' || granted.tool === wanted.tool)
    );
  }
  if (granted.kind === 'a2a') {
    return wanted.kind === 'a2a' && granted.peer === wanted.peer && (granted.method === '*' || granted.method === wanted.method);
  }
  return (
    wanted.kind === 'http' &&
    granted.connection === wanted.connection &&
    (granted.method === '*' || granted.method === wanted.method) &&
    pathCovers(granted.path, wanted.path)
  );
}

export const coveredBySet = (item: ScopeItem, set: readonly ScopeItem[]): boolean => set.some((g) => covers(g, item));

/**
 * Attenuation: each requested item is granted only if every limit (parent mandate, agent card
 * toolset, policy ceiling) covers it; the rest are returned so the caller can name them in
 * `invalid_scope`. Items are never widened, so the result never exceeds any limit.
 */
export function intersect(
  requested: readonly ScopeItem[],
  ...limits: ReadonlyArray<readonly ScopeItem[]>
): { granted: ScopeItem[]; refused: ScopeItem[] } {
  const granted: ScopeItem[] = [];
  const refused: ScopeItem[] = [];
  for (const item of requested) (limits.every((limit) => coveredBySet(item, limit)) ? granted : refused).push(item);
  return { granted, refused };
}

/** Enforcement: does the mandate's scope allow this one call? */
export function permits(scope: readonly ScopeItem[], request: ScopeItem | string): boolean {
  return coveredBySet(typeof request === 'string' ? parseScopeRequest(request) : request, scope);
}

/**
 * Narrowing to a limit that may be finer than what was asked: each requested item the limit
 * covers is kept whole, and each limit item a requested item covers is kept in its place
 * (`tool:github/*` asked, `tool:github/read` allowed → `tool:github/read`). Every result is covered
 * by a requested item and by the limit; partial overlaps of two path globs are dropped, never widened.
 */
export function narrow(requested: readonly ScopeItem[], limit: readonly ScopeItem[]): ScopeItem[] {
  const kept = new Map<string, ScopeItem>();
  for (const item of requested) {
    if (coveredBySet(item, limit)) kept.set(formatScopeItem(item), item);
    else for (const finer of limit) if (covers(item, finer)) kept.set(formatScopeItem(finer), finer);
  }
  const items = [...kept.values()];
  return items.filter((item, i) => !items.some((other, j) => j !== i && covers(other, item) && !(covers(item, other) && j > i)));
}
