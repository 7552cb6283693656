// OpenTelemetry SDK set-up from the standard OTEL_* environment variables (OTel SDK environment spec)
import type { Sampler, SpanExporter } from '@opentelemetry/sdk-trace';
import { installTracer } from './trace.ts';

export interface Tracing {
  /** Sends what is buffered now (tests, and before a process ends). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

type Env = Record<string, string | undefined>;

/**
 * Which exporter the environment asks for, or null: tracing is OFF unless `OTEL_TRACES_EXPORTER`
 * names `otlp` or `console` (the SDK's own default would be `otlp`; Mandate's is off), and
 * `OTEL_SDK_DISABLED=true` turns it off whatever else is set.
 */
export function tracesExporterOf(env: Env): 'otlp' | 'console' | null {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return null;
  const names = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase());
  if (names.includes('none')) return null;
  return names.includes('otlp') ? 'otlp' : names.includes('console') ? 'console' : null;
}

let running: Tracing | undefined;

/**
 * Installs a tracer when the environment asks for one. The SDK is imported only then, so a
 * server without tracing (and `mandate --help`) never loads it. The OTLP/HTTP exporter reads
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`, `_HEADERS`, `_TIMEOUT`
 * and `_COMPRESSION` itself; the resource takes `OTEL_SERVICE_NAME` and `OTEL_RESOURCE_ATTRIBUTES`.
 */
export async function startTracing(version: string, env: Env = process.env): Promise<Tracing | undefined> {
  const exporterName = tracesExporterOf(env);
  if (!exporterName) return undefined;
  if (running) return running;
  const sdk = await import('@opentelemetry/sdk-trace');
  const { resourceFromAttributes, detectResources, envDetector } = await import('@opentelemetry/resources');
  const exporter: SpanExporter =
    exporterName === 'otlp' ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter() : new sdk.ConsoleSpanExporter();
  const resource = resourceFromAttributes({ 'service.name': 'mandate', 'service.version': version }).merge(detectResources({ detectors: [envDetector] }));
  const provider = new sdk.TracerProvider({
    resource,
    sampler: samplerOf(sdk, env),
    spanProcessors: [new sdk.BatchSpanProcessor({ exporter, ...batchOptionsOf(env) })],
  });
  installTracer(provider.getTracer('mandate', version));
  const tracing: Tracing = {
    flush: () => provider.forceFlush(),
    shutdown: async () => {
      if (running === tracing) {
        running = undefined;
        installTracer(undefined);
      }
      await provider.shutdown();
    },
  };
  running = tracing;
  return tracing;
}

/** `OTEL_TRACES_SAMPLER` and `OTEL_TRACES_SAMPLER_ARG`; the default follows the agent's sampled flag. */
function samplerOf(sdk: typeof import('@opentelemetry/sdk-trace'), env: Env): Sampler {
  const ratio = Number(env.OTEL_TRACES_SAMPLER_ARG ?? '1');
  const byRatio = () => new sdk.TraceIdRatioBasedSampler(Number.isFinite(ratio) && ratio >= 0 && ratio <= 1 ? ratio : 1);
  switch ((env.OTEL_TRACES_SAMPLER ?? 'parentbased_always_on').trim().toLowerCase()) {
    case 'always_on':
      return new sdk.AlwaysOnSampler();
    case 'always_off':
      return new sdk.AlwaysOffSampler();
    case 'traceidratio':
      return byRatio();
    case 'parentbased_always_off':
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new sdk.ParentBasedSampler({ root: byRatio() });
    default:
      return new sdk.ParentBasedSampler({ root: new sdk.AlwaysOnSampler() });
  }
}

/** `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_BSP_MAX_QUEUE_SIZE`, `OTEL_BSP_MAX_EXPORT_BATCH_SIZE`, `OTEL_BSP_EXPORT_TIMEOUT`. */
function batchOptionsOf(env: Env) {
  const read = (name: string) => {
    const value = Number(env[name]);
    return Number.isInteger(value) && value > 0 ? value : undefined;
  };
  const options = {
    scheduledDelayMillis: read('OTEL_BSP_SCHEDULE_DELAY'),
    maxQueueSize: read('OTEL_BSP_MAX_QUEUE_SIZE'),
    maxExportBatchSize: read('OTEL_BSP_MAX_EXPORT_BATCH_SIZE'),
    exportTimeoutMillis: read('OTEL_BSP_EXPORT_TIMEOUT'),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
}
