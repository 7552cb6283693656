import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { configDefaults } from '../../config/schema.ts';
import { apiClient, CliError } from '../client.ts';
import { print } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

const defaultDir = () => path.resolve(process.env.MANDATE_DATA_DIR || configDefaults.dataDir, 'policies');

function readCedarFiles(dir: string): Array<{ file: string; text: string }> {
  if (!fs.existsSync(dir)) throw new CliError(`no policy directory ${dir}`);
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.cedar')).sort();
  if (files.length === 0) throw new CliError(`no .cedar files in ${dir}`);
  return files.map((file) => ({ file, text: fs.readFileSync(path.join(dir, file), 'utf8') }));
}

/** `mandate policy …`: validate, test and explain offline on a directory; apply to the running server. */
export function policyCommand(program: Command) {
  const policy = program.command('policy').description('Cedar policies: validate, test, explain, apply');
  const globals = () => program.opts<GlobalOpts>();
  /**
   * Offline, `context.args` is typed from a JSON file of argument schemas (`--arguments`), as the
   * server types it from its pinned tools and connections: `{ "orders/refund": { "type": "object", … } }`.
   */
  const load = async (dir: string, argumentsFile?: string) => {
    const { loadPolicySet } = await import('../../policy/policy-set.ts');
    const schema = argumentsFile ? await argumentsSchema(argumentsFile) : undefined;
    try {
      return loadPolicySet(readCedarFiles(dir), schema ? { schema } : {});
    } catch (error) {
      const details = (error as { details?: Array<{ path: string; message: string }> }).details ?? [];
      throw new CliError((error as Error).message, 1, details.map((d) => `${d.path}: ${d.message}`));
    }
  };

  const ARGUMENTS = ['--arguments <file>', 'JSON file of argument schemas by tool or endpoint ({ "orders/refund": { "type": "object", … } }): types context.args as the server does'] as const;

  policy
    .command('validate [dir]')
    .description('parse and validate a directory of .cedar files against the schema (default: the data dir policies)')
    .option(...ARGUMENTS)
    .action(async (dir: string | undefined, opts: { arguments?: string }) => {
      const set = await load(path.resolve(dir ?? defaultDir()), opts.arguments);
      const { formatLocation } = await import('../../policy/location.ts');
      // Cedar's warnings: "policy is impossible" names a policy on an argument no schema declares.
      const warnings = set.warnings.map((w) => `${formatLocation(w)}: ${w.policy ? `${w.policy}: ` : ''}${w.reason}`);
      print({ version: set.version, policies: [...set.policies.keys()], warnings }, !!globals().json, () =>
        [`valid: ${set.policies.size} policies, version ${set.version}`, ...warnings.map((w) => `warning: ${w}`)].join('\n'),
      );
    });

  policy
    .command('apply [dir]')
    .description('replace the running policy set with the .cedar files of a directory (refused whole if any is invalid)')
    .action(async (dir?: string) => {
      const files = readCedarFiles(path.resolve(dir ?? defaultDir()));
      const result = await apiClient(globals()).request<{ version: string; changed: boolean }>('PUT', '/v1/policies', { files });
      const { warnings = [] } = result as { warnings?: string[] };
      print(result, !!globals().json, () => [result.changed ? `applied: version ${result.version}` : `unchanged: version ${result.version}`, ...warnings.map((w) => `warning: ${w}`)].join('\n'));
    });

  policy
    .command('test <cases>')
    .description('run expected decisions from a YAML file against a policy directory (like opa test)')
    .option('--dir <dir>', 'policy directory (default: the data dir policies)')
    .option(...ARGUMENTS)
    .action(async (cases: string, opts: { dir?: string; arguments?: string }) => {
      const { parsePolicyTests, runPolicyTests, formatTestReport } = await import('../../policy/policy-test.ts');
      const set = await load(path.resolve(opts.dir ?? defaultDir()), opts.arguments);
      const report = runPolicyTests(set, parsePolicyTests(fs.readFileSync(cases, 'utf8')));
      print(report, !!globals().json, () => formatTestReport(report));
      if (report.failed > 0) process.exitCode = 1;
    });

  policy
    .command('explain [request]')
    .description('explain the decision for a request (JSON file: a decision request or an AuthZEN body), or with --scope which of request, card and person limit a mandate')
    .option('--dir <dir>', 'policy directory (default: the data dir policies)')
    .option(...ARGUMENTS)
    .option('--server', "ask the running server: its policy set and the registry's agent card, exactly as /v1/authorize decides")
    .option('--scope <items>', 'explain the scope a token exchange would grant for these items (asks the server)')
    .option('--agent <id>', 'with --scope: the agent card')
    .option('--person <subject>', 'with --scope: the person the agent acts for')
    .option('--group <group>', "with --scope: one of the person's groups (repeatable)", (g: string, all: string[]) => [...all, g], [] as string[])
    .action(async (requestFile: string | undefined, opts: { dir?: string; arguments?: string; server?: boolean; scope?: string; agent?: string; person?: string; group: string[] }) => {
      if (opts.scope !== undefined) {
        if (!opts.agent || !opts.person) throw new CliError('--scope needs --agent <id> and --person <subject>', 2);
        const question = { agent: opts.agent, person: opts.person, groups: opts.group, scope: opts.scope };
        const explanation = await apiClient(globals()).request<{ text: string }>('POST', '/v1/mandates/explain-scope', question);
        print(explanation, !!globals().json, () => explanation.text);
        return;
      }
      if (!requestFile) throw new CliError('name a request file, or explain a scope with --scope', 2);
      const body: unknown = JSON.parse(fs.readFileSync(requestFile, 'utf8'));
      if (opts.server) {
        const explanation = await apiClient(globals()).request<{ text: string }>('POST', '/v1/policies/explain', body);
        print(explanation, !!globals().json, () => explanation.text);
        return;
      }
      const { explain } = await import('../../policy/explain.ts');
      const set = await load(path.resolve(opts.dir ?? defaultDir()), opts.arguments);
      // Offline there is no registry: the card facts are the file's own (the text says so).
      const explanation = explain(set, body);
      print(explanation, !!globals().json, () => `${explanation.text}\n\n(offline: card facts from ${path.basename(requestFile)}; --server decides on the registry's card)`);
    });
}

/** The bundled schema with `Args` generated from a JSON file of argument schemas by name. */
async function argumentsSchema(file: string) {
  const { argsFragment } = await import('../../policy/args-schema.ts');
  const { schemaWithArgs } = await import('../../policy/schema.ts');
  let sources: unknown;
  try {
    sources = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${file}: ${(error as Error).message}`);
  }
  if (sources === null || typeof sources !== 'object' || Array.isArray(sources)) throw new CliError(`${file}: expected an object of argument schemas by tool or endpoint name`);
  const fragment = argsFragment(Object.entries(sources).map(([name, schema]) => ({ name, schema })));
  for (const note of fragment.notes) process.stderr.write(`note: ${note}\n`);
  return schemaWithArgs(fragment);
}
