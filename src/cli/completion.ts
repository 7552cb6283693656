import type { Command, Option } from 'commander';

/**
 * Shell completion scripts generated from the commander program itself, so they always list
 * the commands and options the CLI has: `source <(mandate completion bash)` (or zsh), and
 * `mandate completion fish | source`.
 */
interface Node {
  path: string[];
  description: string;
  commands: Node[];
  options: Option[];
}

function tree(command: Command, path: string[] = []): Node {
  return {
    path,
    description: command.description(),
    commands: command.commands.map((c) => tree(c, [...path, c.name()])),
    options: command.options.filter((o) => !o.hidden),
  };
}

const flatten = (node: Node): Node[] => [node, ...node.commands.flatMap(flatten)];
const longFlags = (node: Node) => [...node.options.map((o) => o.long).filter((l): l is string => !!l), '--help'];
/** For fish's single-quoted strings. */
const quote = (text: string) => `'${text.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export const shells = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof shells)[number];

export function completionScript(program: Command, shell: Shell): string {
  const root = tree(program);
  return shell === 'fish' ? fish(root) : bashLike(root, shell);
}

function bashLike(root: Node, shell: 'bash' | 'zsh'): string {
  const cases = flatten(root).map((node) => {
    const words = [...node.commands.map((c) => c.path.at(-1)!), ...longFlags(node)];
    return `    ${JSON.stringify(node.path.join(' '))}) echo ${JSON.stringify(words.join(' '))} ;;`;
  });
  return [
    `# mandate completion for ${shell}: source <(mandate completion ${shell})`,
    ...(shell === 'zsh' ? ['autoload -U +X bashcompinit && bashcompinit'] : []),
    '_mandate_words() {',
    '  case "$1" in',
    ...cases,
    '  esac',
    '}',
    '_mandate() {',
    '  local cur="${COMP_WORDS[COMP_CWORD]}" path="" word next',
    '  for word in "${COMP_WORDS[@]:1:COMP_CWORD-1}"; do',
    '    case "$word" in -*) continue ;; esac',
    '    next="${path:+$path }$word"',
    '    [ -n "$(_mandate_words "$next")" ] && path="$next"',
    '  done',
    '  COMPREPLY=($(compgen -W "$(_mandate_words "$path")" -- "$cur"))',
    '}',
    'complete -o default -F _mandate mandate',
    '',
  ].join('\n');
}

function fish(root: Node): string {
  const lines = ['# mandate completion for fish: mandate completion fish | source'];
  for (const node of flatten(root)) {
    const inside = node.path.map((name) => `__fish_seen_subcommand_from ${name}`);
    const children = node.commands.map((c) => c.path.at(-1)!);
    const notYet = children.length ? [`not __fish_seen_subcommand_from ${children.join(' ')}`] : [];
    const here = node.path.length === 0 ? ['__fish_use_subcommand'] : [...inside, ...notYet];
    for (const child of node.commands) {
      lines.push(`complete -c mandate -n ${quote(here.join('; and '))} -a ${child.path.at(-1)} -d ${quote(child.description)}`);
    }
    const condition = node.path.length === 0 ? '' : ` -n ${quote(inside.join('; and '))}`;
    for (const option of node.options) {
      if (!option.long) continue;
      lines.push(`complete -c mandate${condition} -l ${option.long.slice(2)}${option.required || option.optional ? ' -r' : ''} -d ${quote(option.description)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
