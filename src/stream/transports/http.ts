// Trail sinks over HTTP: a signed JSON webhook, the Splunk HTTP Event Collector, OTLP/HTTP JSON logs
import http from 'node:http';
import https from 'node:https';
import type { Severity } from '../../audit/export/severity.ts';
import { SIGNATURE_HEADER, signatureHeader } from '../../notify/signature.ts';
import type { OutEvent } from '../render.ts';
import { reachFailure, TransportError, type TrailTransport } from '../transport.ts';

export type HttpKind = 'http-webhook' | 'splunk-hec' | 'otlp-logs';

export interface HttpSinkOptions {
  kind: HttpKind;
  url: string;
  ca?: string;
  secret?: string;
  index?: string;
  sourcetype?: string;
  format: string;
  timeoutMs: number;
  now: () => Date;
}

/** Splunk HEC and OTLP take a base URL; their standard path is added unless it is there. */
export function endpointOf(kind: HttpKind, text: string): URL {
  const url = new URL(text);
  const path = kind === 'splunk-hec' ? '/services/collector/event' : kind === 'otlp-logs' ? '/v1/logs' : '';
  if (path && !url.pathname.endsWith(path)) url.pathname = `${url.pathname.replace(/\/$/, '')}${path}`;
  return url;
}

const valueOf = (e: OutEvent) => (e.json ? e.text : JSON.stringify(e.text));

/** `{"events":[…]}`, each event as its format gives it; `Mandate-Signature` as the notification webhooks sign. */
export function webhookBody(batch: readonly OutEvent[]): string {
  return `{"events":[${batch.map(valueOf).join(',')}]}`;
}

/** Splunk HEC event protocol: one JSON object per event, concatenated; the event id in the indexed fields. */
export function hecBody(batch: readonly OutEvent[], o: Pick<HttpSinkOptions, 'index' | 'sourcetype' | 'format'>): string {
  const common = `"source":"mandate","sourcetype":${JSON.stringify(o.sourcetype ?? `mandate:${o.format}`)}${o.index ? `,"index":${JSON.stringify(o.index)}` : ''}`;
  return batch
    .map((e) => `{"time":${Date.parse(e.time) / 1000},${common},"fields":{"event_id":${JSON.stringify(e.id)},"chain":${JSON.stringify(e.chain)}},"event":${valueOf(e)}}`)
    .join('\n');
}

/** OTLP SeverityNumber: INFO 9, INFO3 11, WARN 13, ERROR 17. */
const OTLP_SEVERITY: Record<Severity, [number, string]> = { informational: [9, 'INFO'], low: [11, 'INFO3'], medium: [13, 'WARN'], high: [17, 'ERROR'] };
const attr = (key: string, value: string) => ({ key, value: { stringValue: value } });

/** OTLP/HTTP JSON ExportLogsServiceRequest (opentelemetry-proto logs/v1): one LogRecord per event. */
export function otlpBody(batch: readonly OutEvent[]): string {
  const observed = `${BigInt(Date.now()) * 1_000_000n}`;
  return JSON.stringify({
    resourceLogs: [
      {
        resource: { attributes: [attr('service.name', 'mandate')] },
        scopeLogs: [
          {
            scope: { name: 'mandate.trail' },
            logRecords: batch.map((e) => ({
              timeUnixNano: `${BigInt(Date.parse(e.time)) * 1_000_000n}`,
              observedTimeUnixNano: observed,
              severityNumber: OTLP_SEVERITY[e.severity][0],
              severityText: OTLP_SEVERITY[e.severity][1],
              body: { stringValue: e.text },
              attributes: [attr('event.id', e.id), attr('event.name', e.type), attr('mandate.chain', e.chain), { key: 'mandate.seq', value: { intValue: String(e.seq) } }],
            })),
          },
        ],
      },
    ],
  });
}

export class HttpTransport implements TrailTransport {
  readonly acknowledges = true;
  readonly #o: HttpSinkOptions;
  readonly #url: URL;
  readonly #agent: http.Agent;

  constructor(options: HttpSinkOptions) {
    this.#o = options;
    this.#url = endpointOf(options.kind, options.url);
    this.#agent = this.#url.protocol === 'https:' ? new https.Agent({ keepAlive: true, maxSockets: 2, ...(options.ca ? { ca: options.ca } : {}) }) : new http.Agent({ keepAlive: true, maxSockets: 2 });
  }

  connection() {
    return { epoch: 0, up: true };
  }

  send(batch: readonly OutEvent[]): Promise<void> {
    const { kind, secret } = this.#o;
    const body = kind === 'http-webhook' ? webhookBody(batch) : kind === 'splunk-hec' ? hecBody(batch, this.#o) : otlpBody(batch);
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'Mandate-Trail/1', 'content-length': String(Buffer.byteLength(body)) };
    if (kind === 'http-webhook') {
      headers[SIGNATURE_HEADER] = signatureHeader(secret!, body, this.#o.now());
      headers['mandate-event-count'] = String(batch.length);
    } else if (kind === 'splunk-hec') headers.authorization = `Splunk ${secret!}`;
    else if (secret) headers.authorization = `Bearer ${secret}`;
    return this.#post(headers, body);
  }

  #post(headers: Record<string, string>, body: string): Promise<void> {
    const client = this.#url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const request = client.request(this.#url, { method: 'POST', headers, agent: this.#agent, timeout: this.#o.timeoutMs }, (response) => {
        response.resume();
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status >= 200 && status < 300) resolve();
          else reject(new TransportError(`the receiver answered HTTP ${status}`));
        });
        response.on('error', (error) => reject(reachFailure(error)));
      });
      request.on('timeout', () => request.destroy(new TransportError('the receiver did not answer in time')));
      request.on('error', (error) => reject(reachFailure(error)));
      request.end(body);
    });
  }

  async close(): Promise<void> {
    this.#agent.destroy();
  }
}
