import { useEffect, useRef } from 'react';

type Listener = (data: unknown) => void;
const listeners = new Map<string, Set<Listener>>();
let source: EventSource | undefined;

/** One server-sent event stream (`GET /v1/stream`) for the whole console, shared by every page. */
export function openStream(onState: (connected: boolean) => void): () => void {
  source = new EventSource('/v1/stream', { withCredentials: true });
  source.onopen = () => onState(true);
  source.onerror = () => onState(false);
  for (const type of ['audit', 'approvals']) {
    source.addEventListener(type, (message) => {
      const data: unknown = JSON.parse((message as MessageEvent<string>).data);
      for (const listener of listeners.get(type) ?? []) listener(data);
    });
  }
  return () => {
    source?.close();
    source = undefined;
  };
}

/** Call `listener` for each live event of `type` while the component is shown. */
export function useLive(type: 'audit' | 'approvals', listener: Listener) {
  const ref = useRef(listener);
  ref.current = listener;
  useEffect(() => {
    const wrapped: Listener = (data) => ref.current(data);
    const set = listeners.get(type) ?? new Set<Listener>();
    listeners.set(type, set);
    set.add(wrapped);
    return () => {
      set.delete(wrapped);
    };
  }, [type]);
}
