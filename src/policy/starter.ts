/** The starter policies shipped with Mandate (`starter/*.cedar`, documented in `starter/README.md`). */
import { fileURLToPath } from 'node:url';
import { readPolicyDir } from './policy-dir.ts';
import type { PolicySource } from './policy-file.ts';

export const STARTER_DIR = fileURLToPath(new URL('./starter', import.meta.url));

export const starterSources = (): Promise<PolicySource[]> => readPolicyDir(STARTER_DIR);
