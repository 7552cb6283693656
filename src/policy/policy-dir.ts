/**
 * Policy sets on disk: every `*.cedar` file under the policy directory (sub-folders included), named
 * by its path relative to the directory.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import type { PolicySource } from './policy-file.ts';
import { type LoadOptions, loadPolicySet, type PolicySet } from './policy-set.ts';

export async function readPolicyDir(dir: string): Promise<PolicySource[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && e.name.endsWith('.cedar'))
    .map((e) => relative(dir, join(e.parentPath, e.name)));
  return Promise.all(
    files.sort().map(async (file) => ({
      file: file.split(sep).join('/'),
      text: await readFile(join(dir, file), 'utf8'),
    })),
  );
}

/** @throws MandateError `ERR_POLICY_INVALID` when any file does not parse or validate. */
export async function loadPolicyDir(dir: string, options: LoadOptions = {}): Promise<PolicySet> {
  return loadPolicySet(await readPolicyDir(dir), options);
}
