import type { Logger } from 'pino';
import { argsFragment, type ArgsSource } from '../policy/args-schema.ts';
import type { Authorizer } from '../policy/authorizer.ts';
import { type Schema, schemaWithArgs } from '../policy/schema.ts';
import { connectionsRepository } from '../store/repositories/connections.ts';
import { toolPinsRepository } from '../store/repositories/tool-pins.ts';
import type { Queryable } from '../store/store.ts';

/**
 * Where `context.args` gets its types: every pinned tool's approved input schema and every broker
 * endpoint's declared `arguments`. A quarantined tool keeps its approved definition's types.
 */
export async function argsSources(db: Queryable): Promise<ArgsSource[]> {
  const sources: ArgsSource[] = [];
  for (const pin of await toolPinsRepository(db).listAll()) {
    sources.push({ name: `${pin.server}/${pin.tool}`, schema: (JSON.parse(pin.definition) as { inputSchema?: unknown }).inputSchema });
  }
  for (const row of await connectionsRepository(db).list()) {
    const spec = JSON.parse(row.spec) as { endpoints?: Array<{ match?: string; arguments?: unknown }> };
    for (const endpoint of spec.endpoints ?? []) {
      if (endpoint.arguments !== undefined) sources.push({ name: `${row.name} ${endpoint.match ?? ''}`, schema: endpoint.arguments });
    }
  }
  return sources;
}

/** The schema policies are validated and decided under, with `Args` generated from the store. */
export async function argsSchema(db: Queryable): Promise<Schema> {
  return schemaWithArgs(argsFragment(await argsSources(db)));
}

/**
 * Retypes `context.args` after a pin or a connection changed, one refresh at a time. When the
 * running policies no longer validate (they read an argument no source declares any more), the
 * running set keeps deciding under its schema and the refusal is logged.
 */
export function argsRefresher(authorizer: Authorizer, db: Queryable, logger: Pick<Logger, 'warn' | 'info'>): () => Promise<void> {
  let running = Promise.resolve();
  return () => {
    running = running
      .then(async () => {
        const schema = await argsSchema(db);
        if (schema.args.text === authorizer.policySet.schema.args.text) return;
        authorizer.useSchema(schema);
        logger.info({ notes: schema.args.notes.slice(0, 20) }, 'policy arguments retyped');
      })
      .catch((error: unknown) => {
        logger.warn({ err: (error as Error).message }, 'policy arguments could not be retyped; the running policies keep their schema');
      });
    return running;
  };
}
