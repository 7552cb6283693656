/**
 * Reloading the running policy set from the data directory: on `mandate policy apply` and whenever a
 * file under the directory changes. An invalid set never replaces the running one: the error (with
 * file, line and reason) is reported and the running set keeps deciding.
 */
import { type FSWatcher, watch } from 'node:fs';
import type { Authorizer } from './authorizer.ts';
import { loadPolicyDir } from './policy-dir.ts';
import type { PolicySet } from './policy-set.ts';

export interface Applied {
  readonly previous: string;
  readonly version: string;
  /** False when the directory holds the running set already. */
  readonly changed: boolean;
  readonly set: PolicySet;
}

/** @throws MandateError `ERR_POLICY_INVALID` when the directory's set is invalid (nothing changes). */
export async function applyPolicyDir(authorizer: Authorizer, dir: string): Promise<Applied> {
  const set = await loadPolicyDir(dir, { schema: authorizer.policySet.schema });
  const previous = authorizer.version;
  const changed = set.version !== previous;
  if (changed) authorizer.reload(set);
  return { previous, version: set.version, changed, set };
}

export interface WatchOptions {
  readonly onApplied?: (applied: Applied) => void;
  readonly onRejected?: (error: unknown) => void;
  /** Quiet time after the last change before reloading (editors write files in several steps). */
  readonly debounceMs?: number;
}

/** Reloads `authorizer` from `dir` after changes under it settle. Call `close()` to stop. */
export function watchPolicyDir(
  authorizer: Authorizer,
  dir: string,
  options: WatchOptions = {},
): { close(): void } {
  let timer: NodeJS.Timeout | undefined;
  let running = Promise.resolve();
  const reload = () => {
    running = running.then(() =>
      applyPolicyDir(authorizer, dir).then(
        (applied) => {
          if (applied.changed) options.onApplied?.(applied);
        },
        (error: unknown) => options.onRejected?.(error),
      ),
    );
  };
  const watcher: FSWatcher = watch(dir, { recursive: true }, () => {
    clearTimeout(timer);
    timer = setTimeout(reload, options.debounceMs ?? 100);
  });
  return {
    close() {
      clearTimeout(timer);
      watcher.close();
    },
  };
}
