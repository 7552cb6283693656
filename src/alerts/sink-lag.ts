/**
 * How far behind each delivery sink is. The server gives alerts two sources: notification sinks
 * (webhooks) and trail sinks (syslog, NATS, HTTP, Splunk HEC, OTLP logs); `startServer` takes more.
 */
export interface SinkLag {
  sink: string;
  /** Events waiting for the sink. */
  events: number;
  /** Age in seconds of the oldest waiting event (0 when none waits). */
  oldestSeconds: number;
}

export interface SinkLagSource {
  sinkLags(): Promise<SinkLag[]>;
}

/**
 * A lag source over a list of sink views (notification sinks, trail sinks): the active ones (a
 * paused sink waits on purpose), named `<prefix><name>`.
 */
export function sinkLagOf(list: () => Promise<Array<{ name: string; status: string; lag: { events: number; oldest: string | null } }>>, now: () => Date, prefix = ''): SinkLagSource {
  return {
    sinkLags: async () =>
      (await list())
        .filter((sink) => sink.status === 'active')
        .map((sink) => ({ sink: `${prefix}${sink.name}`, events: sink.lag.events, oldestSeconds: sink.lag.oldest ? Math.max(0, (now().getTime() - Date.parse(sink.lag.oldest)) / 1000) : 0 })),
  };
}
