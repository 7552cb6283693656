import type { Command } from 'commander';

export function demoCommand(program: Command) {
  program
    .command('demo')
    .description('walk the whole story on a throw-away embedded Mandate')
    .option('--keep', 'leave the data dir and server running to explore with the CLI')
    .option('--port <port>', 'port for the embedded server (default: any free port; 7470 with --keep)')
    .action(async (opts: { keep?: boolean; port?: string }) => {
      const { runDemo } = await import('../../demo/run.ts');
      const code = await runDemo({ keep: !!opts.keep, port: opts.port ? Number(opts.port) : opts.keep ? 7470 : 0 });
      if (code !== 0) process.exitCode = code;
    });
}
