/**
 * A broker call's arguments as record constraints and policy read them: the fields of a JSON or
 * form body and the query parameters, one object. A field given more than once (twice in the
 * query, or in both body and query) holds every value, so each is checked, not only the one an
 * upstream happens to read. `name[]` and `name[0]` query or form keys are read as `name`.
 */
export type BrokerArguments = { values: Record<string, unknown>; canonicalBody?: Buffer } | { unreadable: string };

const baseName = (key: string) => /^([^[\]]+)\[[^\]]*\]$/.exec(key)?.[1] ?? key;

function addAll(target: Record<string, unknown>, key: string, value: unknown): void {
  if (!Object.hasOwn(target, key)) {
    target[key] = value;
    return;
  }
  const before = target[key];
  target[key] = [...(Array.isArray(before) ? before : [before]), ...(Array.isArray(value) ? value : [value])];
}

function fromParams(text: string, into: Record<string, unknown>): void {
  for (const [key, value] of new URLSearchParams(text)) addAll(into, baseName(key), value);
}

/**
 * `canonicalBody`: the JSON body as JSON.parse read it, re-serialized, forwarded instead of the
 * agent's bytes so the upstream cannot read another value than the one checked (duplicate keys).
 */
export function brokerArguments(body: Buffer, contentType: string | undefined, query: string): BrokerArguments {
  const values: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  let canonicalBody: Buffer | undefined;
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (body.length > 0) {
    if (type === 'application/json' || type.endsWith('+json')) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        return { unreadable: 'the JSON body does not parse' };
      }
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) Object.assign(values, parsed);
      else values['body'] = parsed;
      canonicalBody = Buffer.from(JSON.stringify(parsed));
    } else if (type === 'application/x-www-form-urlencoded') {
      fromParams(body.toString('utf8'), values);
    } else {
      return { unreadable: `a ${type || 'untyped'} body is neither JSON nor a form` };
    }
  }
  const fromQuery: Record<string, unknown> = {};
  fromParams(query, fromQuery);
  for (const [key, value] of Object.entries(fromQuery)) addAll(values, key, value);
  return { values: { ...values }, ...(canonicalBody ? { canonicalBody } : {}) };
}
