/**
 * How far behind each delivery sink is. Streaming sinks (syslog, NATS, HTTP, OTLP logs) provide
 * one; notification sinks have one of their own (`notificationSinkLag`). Alerts read every
 * source they are given; none by default.
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

/** The notification sinks' own lag (active sinks; a paused sink waits on purpose). */
export function notificationSinkLag(lags: () => Promise<Array<{ name: string; status: string; lag: { events: number; oldest: string | null } }>>, now: () => Date): SinkLagSource {
  return {
    sinkLags: async () =>
      (await lags())
        .filter((sink) => sink.status === 'active')
        .map((sink) => ({ sink: sink.name, events: sink.lag.events, oldestSeconds: sink.lag.oldest ? Math.max(0, (now().getTime() - Date.parse(sink.lag.oldest)) / 1000) : 0 })),
  };
}
