/**
 * Prompt-injection markers in tool arguments: phrases that try to steer a model rather than pass
 * data. A match is a behavior signal, not proof; the evidence names the marker and the argument
 * path, never the argument's content. Matching is case-insensitive over collapsed whitespace.
 */
const BUILT_IN: ReadonlyArray<readonly [string, RegExp]> = [
  ['ignore previous instructions', /\bignore (?:all |any |the )?(?:previous|prior|above|earlier|preceding) (?:instructions|prompts|messages|rules)\b/],
  ['disregard prior instructions', /\bdisregard (?:all |any |the )?(?:previous|prior|above|earlier|preceding)\b/],
  ['forget your instructions', /\bforget (?:all |everything |your |the )+(?:previous |prior )?(?:instructions|rules|context)\b/],
  ['override instructions', /\boverride (?:your|the|all) (?:instructions|rules|guidelines|safety)\b/],
  ['system prompt', /\bsystem prompt\b/],
  ['new instructions', /\bnew instructions\s*:/],
  ['you are now', /\byou are now (?:a|an|in|the|dan)\b/],
  ['developer mode', /\b(?:developer|jailbreak|god) mode\b/],
  ['chat template token', /<\|im_start\|>|<\|system\|>|\[\/?inst\]|<<sys>>/],
];

const MAX_DEPTH = 32;
const MAX_SCAN = 64 * 1024;

export interface InjectionMatch {
  marker: string;
  /** Where in the arguments, e.g. `body.items[2].note`. */
  path: string;
}

export function compileMarkers(extra: readonly string[]): ReadonlyArray<readonly [string, RegExp]> {
  const escape = (s: string) => s.toLowerCase().trim().replace(/\s+/g, ' ').replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return [...BUILT_IN, ...extra.map((phrase) => [phrase, new RegExp(escape(phrase))] as const)];
}

/** The first marker found in any string (member names included) of `args`, or null. */
export function findInjection(args: unknown, markers: ReadonlyArray<readonly [string, RegExp]>): InjectionMatch | null {
  const visit = (value: unknown, path: string, depth: number): InjectionMatch | null => {
    if (typeof value === 'string') {
      const text = value.slice(0, MAX_SCAN).toLowerCase().replace(/\s+/g, ' ');
      for (const [marker, pattern] of markers) if (pattern.test(text)) return { marker, path: path || '(arguments)' };
      return null;
    }
    if (depth >= MAX_DEPTH || value === null || typeof value !== 'object') return null;
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const found = visit(value[i], `${path}[${i}]`, depth + 1);
        if (found) return found;
      }
      return null;
    }
    for (const [key, inner] of Object.entries(value)) {
      const at = path ? `${path}.${key}` : key;
      const found = visit(key, at, depth + 1) ?? visit(inner, at, depth + 1);
      if (found) return found;
    }
    return null;
  };
  return visit(args, '', 0);
}
