/**
 * The tables a SQL statement names, for the audit trail: identifiers after FROM, JOIN, INTO,
 * UPDATE, TABLE and TRUNCATE (comma lists after FROM included), with comments, string literals and
 * dollar-quoted bodies removed first. A lexical scan, not a parser: it records what the text
 * names, and authorization never depends on it (the role's grants do).
 */
const STARTERS = new Set(['from', 'join', 'into', 'update', 'table', 'truncate']);
const SKIP = new Set(['only', 'lateral', 'if', 'exists', 'table']);
/** Words that end a FROM item instead of being its alias. */
const CLAUSE = new Set([
  'where', 'join', 'inner', 'left', 'right', 'full', 'cross', 'natural', 'on', 'using', 'group', 'order', 'limit', 'offset', 'having',
  'union', 'except', 'intersect', 'window', 'for', 'fetch', 'returning', 'set', 'values', 'select', 'default', 'overriding', 'tablesample', 'as',
]);
/** Functions whose arguments use FROM without naming a table: `extract(year FROM ts)`. */
const FROM_FUNCTIONS = new Set(['extract', 'substring', 'trim', 'overlay', 'position']);

type Token = { kind: 'ident'; text: string; quoted: boolean } | { kind: 'punct'; text: string };

function strip(sql: string): string {
  return sql
    .replace(/--[^\n]*/g, ' ')
    .replace(/\/\*[\s\S]*?\*\//g, ' ')
    .replace(/\$([A-Za-z_]\w*)?\$[\s\S]*?\$\1\$/g, ' ')
    .replace(/[Ee]?'(?:[^']|'')*'/g, ' ');
}

function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  for (const m of strip(sql).matchAll(/"((?:[^"]|"")+)"|([A-Za-z_][\w$]*)|([.,();])/g)) {
    if (m[1] !== undefined) tokens.push({ kind: 'ident', text: m[1].replace(/""/g, '"'), quoted: true });
    else if (m[2] !== undefined) tokens.push({ kind: 'ident', text: m[2].toLowerCase(), quoted: false });
    else tokens.push({ kind: 'punct', text: m[3]! });
  }
  return tokens;
}

export function tablesTouched(sql: string): string[] {
  const tokens = tokenize(sql);
  const found = new Set<string>();
  const functionDepths: number[] = [];
  let depth = 0;
  const isWord = (t: Token | undefined, words: Set<string>) => t?.kind === 'ident' && !t.quoted && words.has(t.text);
  /** Read `a`, `a.b` or `a.b.c` at i; returns the name and the index after it. */
  const qualified = (i: number): [string, number] | undefined => {
    const parts: string[] = [];
    while (tokens[i]?.kind === 'ident') {
      parts.push(tokens[i]!.text);
      if (tokens[i + 1]?.text !== '.') return [parts.join('.'), i + 1];
      i += 2;
    }
    return undefined;
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    if (token.text === '(') {
      depth++;
      if (isWord(tokens[i - 1], FROM_FUNCTIONS)) functionDepths.push(depth);
      continue;
    }
    if (token.text === ')') {
      if (functionDepths.at(-1) === depth) functionDepths.pop();
      depth--;
      continue;
    }
    if (!isWord(token, STARTERS) || functionDepths.at(-1) === depth) continue;
    let j = i + 1;
    for (;;) {
      while (isWord(tokens[j], SKIP)) j++;
      const name = qualified(j);
      if (!name) break;
      // `FROM generate_series(…)` is a function, `INTO t (a, b)` a column list.
      if (tokens[name[1]]?.text === '(' && token.text !== 'into') break;
      found.add(name[0]);
      j = name[1];
      if (tokens[j]?.kind === 'ident' && !isWord(tokens[j], CLAUSE)) j++;
      else if (isWord(tokens[j], new Set(['as']))) j += 2;
      if (token.text !== 'from' || tokens[j]?.text !== ',') break;
      j++;
    }
  }
  return [...found].sort();
}
