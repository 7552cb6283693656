import { type ReactNode, useCallback, useEffect, useState } from 'react';
import { ApiError } from './api.ts';

/** Load data for a page; `reload` fetches again (after an action, or on a live event). */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = useCallback(load, deps);
  const reload = useCallback(async () => {
    try {
      setData(await run());
      setError(undefined);
    } catch (e) {
      setError(describe(e));
    }
  }, [run]);
  useEffect(() => {
    void reload();
  }, [reload]);
  return { data, error, reload };
}

export const describe = (e: unknown) => (e instanceof ApiError ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e));

export function ErrorNote({ error }: { error: string | undefined }) {
  return error ? <p className="error" role="alert">{error}</p> : null;
}

export function Panel({ title, children, id }: { title: string; children: ReactNode; id?: string }) {
  const headingId = `${id ?? title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-heading`;
  return (
    <section className="panel" aria-labelledby={headingId}>
      <h2 id={headingId}>{title}</h2>
      {children}
    </section>
  );
}

/** A button that runs an action, shows it is busy, and reports the outcome. */
/** `label` is the accessible name (what it acts on included); `text` what the button shows, when shorter. */
export function Action({ label, text, run, onDone, kind = 'normal', describedBy }: { label: string; text?: string; run: () => Promise<unknown>; onDone?: () => void; kind?: 'normal' | 'danger' | 'primary'; describedBy?: string }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  return (
    <span className="action">
      <button
        type="button"
        className={kind}
        disabled={busy}
        aria-describedby={describedBy}
        aria-label={text ? label : undefined}
        onClick={async () => {
          setBusy(true);
          setError(undefined);
          try {
            await run();
            onDone?.();
          } catch (e) {
            setError(describe(e));
          } finally {
            setBusy(false);
          }
        }}
      >
        {text ?? label}
      </button>
      {error ? <span className="error" role="alert">{error}</span> : null}
    </span>
  );
}

export const when = (iso: string | null | undefined) => (iso ? new Date(iso).toISOString().replace('T', ' ').slice(0, 19) : '—');

export function Badge({ value }: { value: string }) {
  return <span className={`badge badge-${value.replace(/[^a-z_]/gi, '')}`}>{value}</span>;
}
