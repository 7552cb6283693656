import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readJson, startTestServer, type TestServer } from '../../test/harness.ts';

/** `/v1/agents/:id` as OpenAPI spells it: `/v1/agents/{id}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');
const documented = (url: string) => url.startsWith('/v1/') || url.startsWith('/oauth/');

describe('the OpenAPI document', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer('sqlite');
  });
  afterAll(() => server.close());

  it('lists exactly the /v1 and /oauth routes the server answers, method by method', async () => {
    const document = await readJson(await fetch(`${server.url}/v1/openapi.json`));
    const registered = new Set(
      server.app.registeredRoutes
        // fastify answers HEAD for every GET by itself.
        .filter((r) => documented(r.url) && r.method !== 'HEAD')
        .map((r) => `${r.method} ${openApiPath(r.url)}`),
    );
    const listed = new Set(
      Object.entries(document.paths as Record<string, Record<string, unknown>>)
        .filter(([path]) => documented(path))
        .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`)),
    );
    expect(registered.size).toBeGreaterThan(30);
    expect({ undocumented: [...registered].filter((r) => !listed.has(r)).sort(), answeredByNoRoute: [...listed].filter((r) => !registered.has(r)).sort() }).toEqual({
      undocumented: [],
      answeredByNoRoute: [],
    });
  });
});
