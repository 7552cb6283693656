import fs from 'node:fs';
import { Command, CommanderError } from 'commander';
import { isMandateError } from '../errors.ts';
import { cliLine } from '../errors/render.ts';
import { CliError } from './client.ts';
import { agentCommand } from './commands/agent.ts';
import { auditCommand } from './commands/audit.ts';
import { approvalsCommand } from './commands/approvals.ts';
import { initCommand } from './commands/init.ts';
import { instanceCommand, joinTokenCommand } from './commands/instance.ts';
import { keysCommand } from './commands/keys.ts';
import { demoCommand } from './commands/demo.ts';
import { policyCommand } from './commands/policy.ts';
import { serveCommand } from './commands/serve.ts';
import { serverCommand } from './commands/server.ts';
import { peerCommand } from './commands/peer.ts';
import { secretCommand } from './commands/secret.ts';
import { sinkCommand } from './commands/sink.ts';
import { trailCommand } from './commands/trail.ts';
import { alertCommand } from './commands/alert.ts';
import { issuerCommand } from './commands/issuer.ts';
import { entitlementCommand } from './commands/entitlement.ts';
import { connectionCommand } from './commands/connection.ts';
import { mcpProxyCommand } from './commands/mcp-proxy.ts';
import { tokenCommand } from './commands/token.ts';
import { loginCommands } from './commands/login.ts';
import { operatorCommand } from './commands/operator.ts';
import { userCommand } from './commands/user.ts';
import { completionCommand } from './commands/completion.ts';
import { agentUsageCommand, mandateCommand } from './commands/mandate.ts';
import { ownersCommands } from './commands/owners.ts';
import { reviewCommand } from './commands/review.ts';
import { discoverCommand } from './commands/discover.ts';
import { findingsCommand } from './commands/findings.ts';
import { reportCommand } from './commands/report.ts';

export function buildProgram(): Command {
  const program = new Command('mandate')
    .description('Mandate: runtime identity and access control for AI agents')
    .option('--addr <url>', 'server address (MANDATE_ADDR, else the CLI config)')
    .option('--token <token>', 'admin token (MANDATE_TOKEN, else the CLI config)')
    .option('--json', 'print JSON instead of tables')
    .version(packageVersion(), '-V, --version', 'print the version of mandate')
    .showHelpAfterError()
    .exitOverride();
  initCommand(program);
  serveCommand(program);
  agentCommand(program);
  joinTokenCommand(program.commands.find((c) => c.name() === 'agent')!, program);
  agentUsageCommand(program.commands.find((c) => c.name() === 'agent')!, program);
  instanceCommand(program);
  mandateCommand(program);
  ownersCommands(program);
  userCommand(program);
  keysCommand(program);
  operatorCommand(program);
  tokenCommand(program);
  loginCommands(program);
  auditCommand(program);
  serverCommand(program);
  secretCommand(program);
  connectionCommand(program);
  peerCommand(program);
  approvalsCommand(program);
  sinkCommand(program);
  trailCommand(program);
  alertCommand(program);
  issuerCommand(program);
  entitlementCommand(program);
  mcpProxyCommand(program);
  demoCommand(program);
  policyCommand(program);
  reviewCommand(program);
  discoverCommand(program);
  findingsCommand(program);
  reportCommand(program);
  completionCommand(program);
  return program;
}

function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2;
    if (error instanceof CliError) {
      process.stderr.write(`error: ${error.message}\n${error.details.map((d) => `  ${d}\n`).join('')}`);
      return error.exitCode;
    }
    if (isMandateError(error)) {
      process.stderr.write(`${cliLine(error.code, error.message)}\n`);
      return 1;
    }
    if (error instanceof Error) {
      process.stderr.write(`error: ${error.message}\n`);
      return 1;
    }
    process.stderr.write('error: unexpected failure\n');
    return 1;
  }
}
