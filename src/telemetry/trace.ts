// W3C Trace Context (traceparent) and OpenTelemetry spans for the enforcement path
import { type Attributes, type Context, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api';

/**
 * Spans are made only while a tracer is installed (`startTracing` in ./sdk.ts, when the `OTEL_*`
 * environment asks for it). Off, every helper here returns at its first line: no span object,
 * no context, nothing allocated on the hot path.
 */
let tracer: Tracer | undefined;

export function installTracer(next: Tracer | undefined): void {
  tracer = next;
}

export const tracingOn = (): boolean => tracer !== undefined;

/** The tracer installed now (a bench switches tracing off and on again with it). */
export const installedTracer = (): Tracer | undefined => tracer;

/** A span and the context its children start under. */
export interface Traced {
  readonly span: Span;
  readonly context: Context;
}

export { SpanKind };

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/**
 * The remote parent a W3C `traceparent` names (Trace Context §3.2), or the root context when the
 * header is absent or malformed: version ff, all-zero ids and upper-case hex are invalid.
 */
export function parentOf(traceparent: string | undefined): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent.trim()) : null;
  if (!match || match[1] === 'ff' || /^0+$/.test(match[2]!) || /^0+$/.test(match[3]!)) return ROOT_CONTEXT;
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: match[2]!, spanId: match[3]!, traceFlags: parseInt(match[4]!, 16) & 1, isRemote: true });
}

/** A span whose parent is the agent's `traceparent` (a new trace without one). */
export function startTrace(name: string, traceparent: string | undefined, attributes: Attributes, kind: SpanKind = SpanKind.SERVER): Traced | undefined {
  if (!tracer) return undefined;
  const parent = parentOf(traceparent);
  const span = tracer.startSpan(name, { kind, attributes }, parent);
  return { span, context: trace.setSpan(parent, span) };
}

/** A child of `parent`; none without a parent (tracing off, or a path that was not traced). */
export function startChild(parent: Traced | undefined, name: string, attributes?: Attributes, kind: SpanKind = SpanKind.INTERNAL): Traced | undefined {
  if (!parent || !tracer) return undefined;
  const span = tracer.startSpan(name, { kind, ...(attributes ? { attributes } : {}) }, parent.context);
  return { span, context: trace.setSpan(parent.context, span) };
}

/**
 * Ends a span. A refusal is an outcome, not a failure of Mandate: it is an attribute
 * (`mandate.code`); `error` marks the span as failed (a thrown error, an upstream that failed).
 */
export function endSpan(traced: Traced | undefined, outcome: { code?: string | null; error?: string } = {}): void {
  if (!traced) return;
  if (outcome.code) traced.span.setAttribute('mandate.code', outcome.code);
  if (outcome.error) traced.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error });
  traced.span.end();
}

/** Runs `work` inside a child span of `parent`; a thrown error marks the span and is rethrown. */
export async function inSpan<T>(parent: Traced | undefined, name: string, work: (traced: Traced | undefined) => Promise<T>, attributes?: Attributes, kind?: SpanKind): Promise<T> {
  const traced = startChild(parent, name, attributes, kind);
  if (!traced) return work(undefined);
  try {
    const result = await work(traced);
    traced.span.end();
    return result;
  } catch (error) {
    endSpan(traced, { error: (error as { code?: unknown }).code ? String((error as { code?: unknown }).code) : 'error' });
    throw error;
  }
}

/**
 * The `traceparent` to send upstream: the upstream span's own when traced; otherwise the agent's,
 * handed on unchanged when it is well formed, so the upstream still joins the agent's trace.
 */
export function traceparentFor(traced: Traced | undefined, agents: string | undefined): string | undefined {
  if (traced) {
    const { traceId, spanId, traceFlags } = traced.span.spanContext();
    return `00-${traceId}-${spanId}-0${traceFlags & 1}`;
  }
  return parentOf(agents) === ROOT_CONTEXT ? undefined : agents!.trim();
}
