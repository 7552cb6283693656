import fs from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { CliError } from './client.ts';

/** Read a YAML or JSON file (`-` for stdin) into its documents; parse errors name the line. */
export function readDocuments(file: string): unknown[] {
  let text: string;
  try {
    text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (error) {
    throw new CliError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      const line = error.linePos?.[0].line;
      throw new CliError(
        `malformed YAML in ${file}${line ? ` at line ${line}` : ''}: ${error.message.split('\n')[0]}`,
      );
    }
  }
  return list
    .map((doc) => doc.toJS({ maxAliasCount: 100 }))
    .filter((value) => value !== null && value !== undefined);
}

/** The agent cards in a file: documents that are cards, `agents:` lists, or top-level arrays. */
export function readAgentCards(file: string): unknown[] {
  return readDocuments(file).flatMap((doc) => {
    if (Array.isArray(doc)) return doc;
    if (doc && typeof doc === 'object' && 'agents' in doc && Object.keys(doc).length === 1) {
      const agents = (doc as { agents: unknown }).agents;
      if (!Array.isArray(agents)) throw new CliError(`${file}: agents must be a list`);
      return agents;
    }
    return [doc];
  });
}
