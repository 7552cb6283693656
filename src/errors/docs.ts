import { CATALOGUE, type CatalogueEntry, JSONRPC } from './catalogue.ts';

const cell = (text: string) => text.replace(/\|/g, '\\|');

const oauthCell = (entry: CatalogueEntry) => {
  if (!entry.oauth) return '';
  const { token_endpoint: t, resource: r } = entry.oauth;
  return t.error === r.error && t.status === r.status ? `\`${t.error}\`` : `token: \`${t.error}\` ${t.status}; resource: \`${r.error}\` ${r.status}`;
};

/** `docs/errors.md`, generated from the catalogue (`npm run docs:errors`); a test keeps it current. */
export function errorsMarkdown(): string {
  const rows = Object.entries(CATALOGUE).map(([code, entry]: [string, CatalogueEntry]) =>
    `| \`${code}\` | ${entry.status} | ${oauthCell(entry)} | ${entry.jsonrpc ?? JSONRPC.refused} | ${cell(entry.meaning)} |`,
  );
  return [
    '# Error codes',
    '',
    '<!-- Generated from src/errors/catalogue.ts by `npm run docs:errors`; do not edit by hand. -->',
    '',
    'Every error Mandate answers with carries one of these stable codes. The same table renders every',
    'surface:',
    '',
    '- **Admin API** (`/v1/…`): RFC 9457 problem details (`application/problem+json`) with `code`,',
    '  the HTTP status below, `detail`, and `errors` (field, reason) for validation failures.',
    '- **OAuth endpoints** (`/oauth/token`, introspection, revocation) and **protected resources**',
    '  (gateway, broker authentication): RFC 6749 §5.2 JSON with the OAuth `error` below',
    '  (`invalid_request` where none is given) and, at a resource, `WWW-Authenticate: DPoP`.',
    '  Policy refusals at token exchange (on-behalf-of mode, delegation, actor or parent not active)',
    '  are `invalid_request` as RFC 8693 §2.2.2 requires; `invalid_scope` and `invalid_target` are',
    '  kept for what was asked.',
    '- **MCP endpoints** (`/mcp/<server>`): JSON-RPC 2.0 error objects with the JSON-RPC code below',
    '  and Mandate\'s code in `error.data.code`; malformed JSON is a parse error (-32700) with HTTP 400.',
    '  Tool calls that policy refuses are MCP tool results with `isError: true` naming the reason.',
    '- **Broker** (`/broker/<connection>/…`): `{"error": "<code>", "message": …}` with the HTTP status below.',
    '- **CLI**: `error: <message> (<code>)` on stderr, exit status 1.',
    '',
    'Internal errors (5xx without an exposed message) never carry internal detail to the caller; the',
    'server log has the cause.',
    '',
    '| code | HTTP | OAuth error | JSON-RPC | meaning |',
    '|---|---|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
