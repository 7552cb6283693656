/**
 * The one grammar for credentials written into a connection or an upstream server: literal text
 * and `{{secret:name}}` (a secret of the store) or `{{secret:name/<sub>}}` (the secret of the
 * mandate's person, filled per call). Anything else between `{{` and `}}` is a mistake to refuse
 * when the spec is written, not a call that fails later. A literal that looks like a credential
 * is refused too: it belongs in the sealed store, not in a spec that `show` prints back.
 * Messages never quote the value.
 */
const REF = /\{\{secret:([A-Za-z0-9_.-]{1,100})(\/<sub>)?\}\}/g;

export interface SecretRef {
  name: string;
  perPerson: boolean;
}

export function secretRefs(template: string): SecretRef[] {
  return [...template.matchAll(REF)].map((m) => ({ name: m[1]!, perPerson: !!m[2] }));
}

/** Why the template's placeholders cannot work, or undefined when they can. */
export function templateProblem(template: string): string | undefined {
  const rest = template.replace(REF, '');
  const open = rest.indexOf('{{');
  if (open === -1) return rest.includes('}}') ? 'a stray }} (placeholders are {{secret:name}} or {{secret:name/<sub>}})' : undefined;
  const close = rest.indexOf('}}', open);
  if (close === -1) return 'an unclosed {{ (placeholders are {{secret:name}} or {{secret:name/<sub>}})';
  const kind = /^\{\{\s*([A-Za-z_-]{0,20})/.exec(rest.slice(open))![1];
  return kind === 'secret'
    ? 'a {{secret:…}} with an invalid name (letters, digits, _ . -, then optionally /<sub>)'
    : `an unknown placeholder {{${kind}…}} (placeholders are {{secret:name}} or {{secret:name/<sub>}})`;
}

// Well-known credential shapes (OpenAI/Stripe, GitHub, GitLab, Slack, AWS, Google, npm, JWTs).
const KNOWN = [/\bsk[-_](live|test|proj)?[-_]?[A-Za-z0-9]{16,}/, /\bgh[pousr]_[A-Za-z0-9]{20,}/, /\bgithub_pat_[A-Za-z0-9_]{20,}/, /\bglpat-[A-Za-z0-9_-]{16,}/, /\bxox[abposr]-[A-Za-z0-9-]{10,}/, /\bAKIA[0-9A-Z]{16}\b/, /\bAIza[0-9A-Za-z_-]{30,}/, /\bnpm_[A-Za-z0-9]{30,}/, /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\./];
const SECRETISH_NAME = /(token|secret|passw(or)?d|pass|pwd|api[-_]?key|apikey|auth|credential|private[-_]?key|session|cookie|bearer)/i;

/**
 * Does the literal part of a value (placeholders removed) look like a credential? Known token
 * shapes always; under a name that says secret (API_TOKEN, Authorization, X-Api-Key …), any long
 * word mixing letters and digits too (not a path, URL or dotted name).
 */
export function looksLikeCredential(name: string, value: string): boolean {
  const literal = value.replace(REF, ' ');
  if (KNOWN.some((shape) => shape.test(literal))) return true;
  if (!SECRETISH_NAME.test(name)) return false;
  const count = (word: string, chars: RegExp) => word.match(chars)?.length ?? 0;
  return literal
    .split(/[\s:=,;]+/)
    .some((word) => word.length >= 16 && !word.startsWith('/') && /^[A-Za-z0-9_\-+/~]+=*$/.test(word) && count(word, /[A-Za-z]/g) >= 3 && count(word, /[0-9]/g) >= 3);
}

export const literalCredentialMessage = (where: string) =>
  `${where} holds what looks like a credential in clear: store it with \`mandate secret set <name>\` (read from stdin) and write {{secret:<name>}} instead`;
