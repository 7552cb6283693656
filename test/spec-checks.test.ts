import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { looksLikeCredential, templateProblem } from '../src/broker/secret-refs.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';

/**
 * The API refuses upstream servers and connections that cannot work, when they are written:
 * secrets that do not exist, placeholders it does not know, credentials written in clear (never
 * echoed back), and stdio commands the Mandate host cannot find. Nothing refused is stored.
 */
const LITERAL = 'sk-live-4f9a8b7c6d5e4f3a2b1c0d9e';
const GITHUB = 'ghp_0123456789abcdefABCDEF0123456789abcd';

describe('specs that cannot work are refused by the API', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
    expect((await server.api('PUT', '/v1/secrets/api_token', { value: 'stored-value' })).status).toBe(200);
  });
  afterAll(() => server.close());

  const refused = async (route: string, body: object, code: string) => {
    const res = await server.api('POST', route, body);
    const text = await res.text();
    expect(res.status, text).toBe(400);
    const problem = JSON.parse(text);
    expect(problem.code).toBe(code);
    expect(text).not.toContain(LITERAL);
    expect(text).not.toContain(GITHUB);
    const name = (body as { name: string }).name;
    expect((await server.api('GET', `${route}/${name}`)).status).toBe(404);
    return problem as { detail: string; errors?: Array<{ path: string; message: string }> };
  };
  const stdio = (name: string, extra: object = {}) => ({ name, transport: 'stdio', command: [process.execPath, '-e', '0'], ...extra });
  const http = (name: string, inject: string[]) => ({ name, base_url: 'https://api.example.com/', inject, allow: ['GET /**'] });

  it('refuses a {{secret:…}} that does not exist, naming it and how to store it', async () => {
    const problem = await refused('/v1/servers', stdio('s-missing', { env: { API_TOKEN: '{{secret:nope}}', OTHER: '{{secret:api_token}}' } }), 'ERR_SECRET_MISSING');
    expect(problem.detail).toBe('no secret named nope: store it first with `mandate secret set nope` (read from stdin)');
    expect(problem.errors).toEqual([{ path: 'env.nope'.replace('nope', 'API_TOKEN'), message: '{{secret:nope}} does not exist' }]);
    await refused('/v1/connections', http('c-missing', ['header:Authorization=Bearer {{secret:nope}}']), 'ERR_SECRET_MISSING');
    await refused('/v1/connections', { name: 'db-missing', type: 'postgres', dsn_secret: 'no_dsn', grant_template: 'GRANT SELECT ON t TO {{role}}' }, 'ERR_SECRET_MISSING');
  });

  it('accepts what exists, and per-person secrets, which are filled at call time', async () => {
    expect((await server.api('POST', '/v1/servers', stdio('s-ok', { env: { API_TOKEN: '{{secret:api_token}}' } }))).status).toBe(201);
    expect((await server.api('POST', '/v1/connections', http('c-person', ['header:X-Api-Key={{secret:person_key/<sub>}}']))).status).toBe(201);
  });

  it('refuses unknown template syntax: {{secrets:…}}, an unclosed {{, a stray }}', async () => {
    const unknown = await refused('/v1/servers', stdio('s-syntax', { env: { API_TOKEN: '{{secrets:api_token}}' } }), 'ERR_TEMPLATE_SYNTAX');
    expect(unknown.detail).toBe('env.API_TOKEN holds an unknown placeholder {{secrets…}} (placeholders are {{secret:name}} or {{secret:name/<sub>}})');
    const unclosed = await refused('/v1/servers', { name: 's-unclosed', transport: 'http', url: 'https://mcp.example.com/', headers: { 'X-Key': '{{secret:api_token' } }, 'ERR_TEMPLATE_SYNTAX');
    expect(unclosed.detail).toContain('headers.X-Key holds an unclosed {{');
    await refused('/v1/servers', stdio('s-stray', { env: { A: 'x}}' } }), 'ERR_TEMPLATE_SYNTAX');
    await refused('/v1/connections', http('c-syntax', ['header:Authorization=Bearer {{secrets:api_token}}']), 'ERR_CONNECTION_INJECT');
  });

  it('refuses a credential written in clear, without echoing it', async () => {
    const env = await refused('/v1/servers', stdio('s-literal', { env: { API_TOKEN: LITERAL } }), 'ERR_LITERAL_SECRET');
    expect(env.detail).toContain('env.API_TOKEN holds what looks like a credential in clear');
    await refused('/v1/servers', { name: 's-header', transport: 'http', url: 'https://mcp.example.com/', headers: { Authorization: `Bearer ${GITHUB}` } }, 'ERR_LITERAL_SECRET');
    await refused('/v1/servers', { name: 's-url', transport: 'http', url: `https://bot:${LITERAL}@mcp.example.com/` }, 'ERR_LITERAL_SECRET');
    await refused('/v1/connections', http('c-literal', [`query:api_key=${LITERAL}`]), 'ERR_LITERAL_SECRET');
    await refused('/v1/connections', http('c-basic', [`basic:bot:${LITERAL}`]), 'ERR_LITERAL_SECRET');
    expect(JSON.stringify(server.audit.events)).not.toContain(LITERAL);
  });

  it('refuses a stdio command the Mandate host cannot find', async () => {
    const bare = await refused('/v1/servers', { name: 's-cmd', transport: 'stdio', command: ['mandate-no-such-command-42', '--flag'] }, 'ERR_SERVER_COMMAND_NOT_FOUND');
    expect(bare.detail).toBe('command "mandate-no-such-command-42" is not found on the Mandate server\'s PATH; give an absolute path or install it there');
    await refused('/v1/servers', { name: 's-path', transport: 'stdio', command: ['/nonexistent/bin/server'] }, 'ERR_SERVER_COMMAND_NOT_FOUND');
    expect((await server.api('POST', '/v1/servers', { name: 's-on-path', transport: 'stdio', command: ['sh', '-c', 'exit 0'] })).status).toBe(201);
    const replaced = await server.api('PUT', '/v1/servers/s-on-path', { transport: 'stdio', command: ['mandate-no-such-command-42'] });
    expect((await readJson(replaced)).code).toBe('ERR_SERVER_COMMAND_NOT_FOUND');
  });
});

describe('the credential heuristics', () => {
  it('knows common token shapes anywhere, and long mixed words under a secret-sounding name', () => {
    for (const value of [LITERAL, GITHUB, 'AKIAIOSFODNN7EXAMPLE', 'xoxb-1234567890-abcdefghij', `Bearer ${GITHUB}`]) expect(looksLikeCredential('X', value)).toBe(true);
    expect(looksLikeCredential('API_TOKEN', 'a8F3k29dLq0Zx7Vb')).toBe(true);
    expect(looksLikeCredential('LOG_LEVEL', 'a8F3k29dLq0Zx7Vb')).toBe(false);
    for (const value of ['debug', '{{secret:api_token}}', 'Bearer {{secret:api_token}}', 'https://example.com/v1', '/usr/local/bin/tool']) expect(looksLikeCredential('API_TOKEN', value)).toBe(false);
  });

  it('names each template mistake', () => {
    expect(templateProblem('Bearer {{secret:a}} and {{secret:b/<sub>}}')).toBeUndefined();
    expect(templateProblem('{{secret:}}')).toMatch(/invalid name/);
    expect(templateProblem('{{ env:HOME }}')).toMatch(/unknown placeholder \{\{env/);
  });
});
