import type { ToolPinsTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type ToolPinRow = ToolPinsTable;

/** Pinned tool definitions per upstream MCP server. */
export interface ToolPinsRepository {
  listOf(server: string): Promise<ToolPinRow[]>;
  /** Every pin of every server, by server and tool. */
  listAll(): Promise<ToolPinRow[]>;
  find(server: string, tool: string): Promise<ToolPinRow | undefined>;
  /** Pin a tool seen for the first time; a pin written meanwhile (another replica) stays. */
  pinFirst(row: ToolPinRow): Promise<void>;
  update(server: string, tool: string, changes: Partial<Omit<ToolPinRow, 'server' | 'tool'>>): Promise<void>;
  removeOf(server: string): Promise<void>;
}

export function toolPinsRepository(db: Queryable): ToolPinsRepository {
  return {
    listOf: (server) => db.selectFrom('tool_pins').selectAll().where('server', '=', server).execute(),
    listAll: () => db.selectFrom('tool_pins').selectAll().orderBy('server').orderBy('tool').execute(),
    find: (server, tool) => db.selectFrom('tool_pins').selectAll().where('server', '=', server).where('tool', '=', tool).executeTakeFirst(),
    pinFirst: async (row) => {
      await db
        .insertInto('tool_pins')
        .values(row)
        .onConflict((oc) => oc.columns(['server', 'tool']).doNothing())
        .execute();
    },
    update: async (server, tool, changes) => {
      await db.updateTable('tool_pins').set(changes).where('server', '=', server).where('tool', '=', tool).execute();
    },
    removeOf: async (server) => {
      await db.deleteFrom('tool_pins').where('server', '=', server).execute();
    },
  };
}
