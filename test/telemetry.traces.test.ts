import crypto from 'node:crypto';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DECISION_PATH } from '../src/enforcement/pipeline.ts';
import { VERSION } from '../src/server/app.ts';
import { startTracing } from '../src/telemetry/sdk.ts';
import { CODE_HASH, bootstrap, personToken, register } from './fixtures.ts';
import { dialects, startTestServer, type TestServer } from './harness.ts';
import { exchangeForm, proofFor, tokenUrl } from './mandates.kit.ts';
import { startUpstream } from './broker.peers.ts';
import { type ReceivedSpan, startOtlpReceiver } from './peers/otlp-receiver.ts';

/**
 * Issue 19, traces: a real OTLP/HTTP receiver on loopback gets the spans Mandate exports when the
 * standard OTEL_* variables turn tracing on; the test rebuilds the tree from what it decoded.
 * The agents send a W3C traceparent; the upstreams (an MCP server over stdio, an HTTP API)
 * report the traceparent they received.
 */
const TRACED = path.resolve(import.meta.dirname, 'peers/trace-server.ts');
const SECRET = 'ghp_trace9Yk2mQx9RtB4vLw8ZpN3cJ6hFd1s';

const card = {
  id: 'traced-bot',
  name: 'Traced bot',
  owner: 'alice@example.com',
  environment: 'dev',
  roles: ['operator'],
  code_hashes: [CODE_HASH],
  toolset: ['tool:traced/*', 'http:echo:GET:/**'],
};

/** A fresh agent-side trace: the span the agent calls from. */
function agentTrace() {
  const traceId = crypto.randomBytes(16).toString('hex');
  const spanId = crypto.randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const DIALECTS = await dialects();
const SERVER = 2;
const CLIENT = 3;

describe('OpenTelemetry traces of exchanges and governed calls', () => {
  let receiver: Awaited<ReturnType<typeof startOtlpReceiver>>;
  const saved = { ...process.env };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    process.env.OTEL_TRACES_EXPORTER = 'otlp';
    process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT = `${receiver.url}/v1/traces`;
    process.env.OTEL_SERVICE_NAME = 'mandate-under-test';
  });

  afterAll(async () => {
    await (await startTracing(VERSION))?.shutdown();
    process.env = saved;
    await receiver?.close();
  });

  /** Every span of one trace, once the SDK has exported what it holds. */
  const traceOf = async (traceId: string): Promise<ReceivedSpan[]> => {
    await (await startTracing(VERSION))!.flush();
    return receiver.spans.filter((s) => s.traceId === traceId);
  };
  const childrenOf = (spans: ReceivedSpan[], parent: ReceivedSpan) => spans.filter((s) => s.parentSpanId === parent.spanId);
  const only = (spans: ReceivedSpan[], name: string) => {
    const found = spans.filter((s) => s.name === name);
    expect(found.map((s) => s.name)).toEqual([name]);
    return found[0]!;
  };

  describe.each(DIALECTS)('on %s', (dialect) => {
    let server: TestServer;
    let upstream: Awaited<ReturnType<typeof startUpstream>>;

    beforeAll(async () => {
      server = await startTestServer(dialect);
      upstream = await startUpstream(SECRET);
      await register(server, card);
      expect((await server.api('POST', '/v1/servers', { name: 'traced', transport: 'stdio', command: [process.execPath, TRACED] })).status).toBe(201);
      expect((await server.api('PUT', '/v1/secrets/echo_token', { value: SECRET })).status).toBe(200);
      const added = await server.api('POST', '/v1/connections', { name: 'echo', base_url: `${upstream.url}/api`, inject: ['header:Authorization=Bearer {{secret:echo_token}}'], allow: ['GET /**'] });
      expect(added.status).toBe(201);
    });

    afterAll(async () => {
      await upstream?.close();
      await server?.close();
    });

    it('exports the token exchange as a span whose parent is the agent’s traceparent', async () => {
      const runtime = await bootstrap(server, card.id, { environment: 'dev' });
      const agent = agentTrace();
      const form = await exchangeForm(runtime, await personToken(server, 'alice@example.com'), `${server.url}/mcp/traced`, { scope: 'tool:traced/echo' });
      const answer = await fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', dpop: proofFor(server, runtime.key, 'POST', tokenUrl(server)), traceparent: agent.traceparent },
        body: new URLSearchParams(form),
      });
      expect(answer.status).toBe(200);
      const refused = await fetch(`${server.url}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', traceparent: agent.traceparent },
        body: new URLSearchParams(form),
      });
      expect(refused.status).toBe(400);

      const spans = await traceOf(agent.traceId);
      expect(spans.map((s) => s.name)).toEqual(['oauth token exchange', 'oauth token exchange']);
      for (const span of spans) {
        expect(span).toMatchObject({ parentSpanId: agent.spanId, kind: SERVER, service: 'mandate-under-test' });
      }
      expect(spans.map((s) => s.attributes['mandate.code'] ?? null)).toEqual([null, 'ERR_DPOP_INVALID']);
    });

    it('traces a gateway call: one span per decision step, the upstream call and the audit commits, and the MCP upstream joins the trace', async () => {
      const runtime = await bootstrap(server, card.id, { environment: 'dev' });
      const resource = `${server.url}/mcp/traced`;
      const mandate = await runtime.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'tool:traced/*', resource });
      const agent = agentTrace();
      const signed = runtime.fetchWith(mandate);
      const withTrace: typeof fetch = (input, init) => {
        const headers = new Headers(init?.headers);
        headers.set('traceparent', agent.traceparent);
        return signed(input, { ...init, headers });
      };
      const client = new Client({ name: 'traced-bot', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: withTrace }));
      let result: CallToolResult;
      try {
        result = (await client.callTool({ name: 'echo', arguments: { note: 'hello' } })) as CallToolResult;
      } finally {
        await client.close();
      }
      expect(result.isError).toBeFalsy();
      const seen = JSON.parse((result.content[0] as { text: string }).text) as { traceparent: string };

      const spans = await traceOf(agent.traceId);
      const call = only(spans, 'mcp tools/call');
      expect(call).toMatchObject({ parentSpanId: agent.spanId, kind: SERVER });
      expect(call.attributes).toMatchObject({ 'mandate.enforcement_point': 'gateway', 'mandate.agent': card.id, 'mcp.server': 'traced', 'mcp.tool': 'echo' });
      const children = childrenOf(spans, call);
      expect(children.map((s) => s.name)).toEqual([...DECISION_PATH.map((step) => `step ${step.name}`), 'upstream tools/call', 'audit commit']);
      // The decision is committed to the trail inside the audit step.
      expect(childrenOf(spans, only(children, 'step audit')).map((s) => s.name)).toEqual(['audit commit']);
      const upstreamSpan = only(children, 'upstream tools/call');
      expect(upstreamSpan.kind).toBe(CLIENT);
      // The upstream received a traceparent in this trace, naming Mandate's upstream span as its parent.
      expect(seen.traceparent).toBe(`00-${agent.traceId}-${upstreamSpan.spanId}-01`);
      // The trail keeps the agent's trace id (as before tracing existed).
      const decision = server.audit.events.find((e) => e.type === 'tool.decision' && e.trace_id === agent.traceId);
      expect(decision?.decision).toBe('allow');
    });

    it('traces a refused gateway call without an upstream span, naming the refusal', async () => {
      const runtime = await bootstrap(server, card.id, { environment: 'dev' });
      const resource = `${server.url}/mcp/traced`;
      // The tool exists upstream, but this mandate is for no tool of it: the scope step refuses.
      const mandate = await runtime.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'tool:traced/other', resource });
      const agent = agentTrace();
      const signed = runtime.fetchWith(mandate);
      const client = new Client({ name: 'traced-bot', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(resource), { fetch: (input, init) => signed(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), traceparent: agent.traceparent } }) }));
      try {
        const result = (await client.callTool({ name: 'echo', arguments: {} })) as CallToolResult;
        expect(result.isError).toBe(true);
      } finally {
        await client.close();
      }
      const spans = await traceOf(agent.traceId);
      const call = only(spans, 'mcp tools/call');
      expect(call.attributes['mandate.code']).toBe('ERR_SCOPE_NOT_GRANTED');
      const children = childrenOf(spans, call);
      // A refusal stops the path; the steps that record refusals still run.
      expect(children.map((s) => s.name)).toEqual(['step rate', 'step scope', 'step audit', 'step settle']);
      expect(only(children, 'step scope').attributes['mandate.code']).toBe('ERR_SCOPE_NOT_GRANTED');
    });

    it('traces a broker call and hands the HTTP upstream a traceparent of the same trace', async () => {
      const runtime = await bootstrap(server, card.id, { environment: 'dev' });
      const mandate = await runtime.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'http:echo:GET:/**', resource: `${server.url}/broker` });
      const agent = agentTrace();
      const before = upstream.received.length;
      const response = await runtime.fetchWith(mandate)(`${server.url}/broker/echo/items/7`, { headers: { traceparent: agent.traceparent } });
      expect(response.status).toBe(200);
      await response.arrayBuffer();
      expect(upstream.received.length).toBe(before + 1);
      const forwarded = upstream.received.at(-1)!.headers.traceparent;

      const spans = await traceOf(agent.traceId);
      const call = only(spans, 'broker GET');
      expect(call).toMatchObject({ parentSpanId: agent.spanId, kind: SERVER });
      expect(call.attributes).toMatchObject({ 'mandate.enforcement_point': 'broker', 'mandate.connection': 'echo', 'http.response.status_code': 200 });
      const children = childrenOf(spans, call);
      expect(children.map((s) => s.name)).toEqual([...DECISION_PATH.map((step) => `step ${step.name}`), 'upstream http', 'audit commit']);
      const upstreamSpan = only(children, 'upstream http');
      expect(forwarded).toBe(`00-${agent.traceId}-${upstreamSpan.spanId}-01`);
    });
  });

  it('received only OTLP/HTTP JSON trace exports', () => {
    expect(receiver.requests).toBeGreaterThan(0);
    expect(receiver.rejected).toBe(0);
  });
});
