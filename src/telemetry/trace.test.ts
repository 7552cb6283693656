import fs from 'node:fs';
import path from 'node:path';
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it } from 'vitest';
import { tracesExporterOf } from './sdk.ts';
import { installTracer, parentOf, startChild, startTrace, traceparentFor, tracingOn } from './trace.ts';

const AGENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('tracing, off by default', () => {
  afterEach(() => installTracer(undefined));

  it('stays off unless OTEL_TRACES_EXPORTER names otlp or console, and OTEL_SDK_DISABLED wins', () => {
    expect(tracesExporterOf({})).toBeNull();
    expect(tracesExporterOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBeNull();
    expect(tracesExporterOf({ OTEL_TRACES_EXPORTER: 'none' })).toBeNull();
    expect(tracesExporterOf({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe('otlp');
    expect(tracesExporterOf({ OTEL_TRACES_EXPORTER: ' Console ' })).toBe('console');
    expect(tracesExporterOf({ OTEL_TRACES_EXPORTER: 'otlp,none' })).toBeNull();
    expect(tracesExporterOf({ OTEL_TRACES_EXPORTER: 'otlp', OTEL_SDK_DISABLED: 'true' })).toBeNull();
  });

  it('makes no span at all while no tracer is installed', () => {
    expect(tracingOn()).toBe(false);
    expect(startTrace('mcp tools/call', AGENT, {})).toBeUndefined();
    expect(startChild(undefined, 'step rate')).toBeUndefined();
  });

  it('hands the agent’s own traceparent upstream when off, and nothing malformed', () => {
    expect(traceparentFor(undefined, AGENT)).toBe(AGENT);
    expect(traceparentFor(undefined, undefined)).toBeUndefined();
    expect(traceparentFor(undefined, 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(traceparentFor(undefined, '00-00000000000000000000000000000000-00f067aa0ba902b7-01')).toBeUndefined();
    expect(traceparentFor(undefined, '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(traceparentFor(undefined, `${AGENT}\r\nx-injected: 1`)).toBeUndefined();
  });

  it('reads a W3C traceparent as a remote parent', () => {
    const parent = trace.getSpanContext(parentOf(AGENT));
    expect(parent).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
    expect(parentOf('garbage')).toBe(ROOT_CONTEXT);
  });
});

describe('the OpenTelemetry SDK', () => {
  it('is imported nowhere but lazily, in src/telemetry/sdk.ts (only the small API is loaded when tracing is off)', () => {
    const src = path.resolve(import.meta.dirname, '..');
    const files = (fs.readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));
    const eager = files.filter((f) => /^import\s+(?!type\b)[^;]*from\s+'@opentelemetry\/(?!api')/m.test(fs.readFileSync(path.join(src, f), 'utf8')));
    expect(eager).toEqual([]);
    expect(fs.readFileSync(path.join(src, 'telemetry/sdk.ts'), 'utf8')).toContain("await import('@opentelemetry/sdk-trace')");
  });
});
