import { Argument, type Command } from 'commander';
import { completionScript, type Shell, shells } from '../completion.ts';

export function completionCommand(program: Command) {
  program
    .command('completion')
    .description('print a shell completion script: source <(mandate completion bash), or zsh; mandate completion fish | source')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(shells))
    .action((shell: Shell) => {
      process.stdout.write(completionScript(program, shell));
    });
}
