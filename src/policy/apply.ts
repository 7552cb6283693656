/**
 * Replacing the running policy set: on `mandate policy apply` and, on a single SQLite server, whenever
 * a file under the policy directory changes. An invalid set never replaces the running one: the error (with
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

/**
 * Makes a validated set the running one everywhere it must run: `commit` stores it and tells the
 * other replicas (the server passes one); without it, only this authorizer changes.
 */
export type CommitPolicySet = (set: PolicySet) => Promise<void>;

export async function applyPolicySet(authorizer: Authorizer, set: PolicySet, commit?: CommitPolicySet): Promise<Applied> {
  const previous = authorizer.version;
  const changed = set.version !== previous;
  if (changed) {
    await commit?.(set);
    if (authorizer.version !== set.version) authorizer.reload(set);
  }
  return { previous, version: set.version, changed, set };
}

/** @throws MandateError `ERR_POLICY_INVALID` when the directory's set is invalid (nothing changes). */
export async function applyPolicyDir(authorizer: Authorizer, dir: string, commit?: CommitPolicySet): Promise<Applied> {
  return applyPolicySet(authorizer, await loadPolicyDir(dir, { schema: authorizer.policySet.schema }), commit);
}

export interface WatchOptions {
  readonly onApplied?: (applied: Applied) => void;
  readonly onRejected?: (error: unknown) => void;
  /** Quiet time after the last change before reloading (editors write files in several steps). */
  readonly debounceMs?: number;
  readonly commit?: CommitPolicySet;
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
      applyPolicyDir(authorizer, dir, options.commit).then(
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
