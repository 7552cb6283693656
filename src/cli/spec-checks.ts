import { secretRefs } from '../broker/secret-refs.ts';
import { isMandateError } from '../errors.ts';
import { CliError } from './errors.ts';

/** Run a check the API makes as well, so a bad spec (or a credential on argv) never leaves the CLI. */
export function checkedLocally(check: () => unknown): void {
  try {
    check();
  } catch (error) {
    if (isMandateError(error)) throw new CliError(`${error.message} (${error.code})`, 2, (error.details ?? []).map((d) => `${d.path}: ${d.message}`));
    throw error;
  }
}

/** Per-person secrets cannot be checked when the spec is written: say what each person will need. */
export function notePerPersonSecrets(templates: readonly string[]): void {
  const names = [...new Set(templates.flatMap((t) => secretRefs(t).filter((r) => r.perPerson).map((r) => r.name)))];
  for (const name of names) {
    process.stderr.write(`note: {{secret:${name}/<sub>}} is filled per person at call time; store one for each person (mandate secret set ${name}/<person>), or that person's calls are refused\n`);
  }
}
