import type { McpServersTable } from '../schema.ts';
import type { Queryable } from '../store.ts';

export type McpServerRow = McpServersTable;

/** Server specs of the upstream MCP servers the gateway fronts, as JSON. */
export interface McpServersRepository {
  find(name: string): Promise<McpServerRow | undefined>;
  /** Ordered by name. */
  list(): Promise<McpServerRow[]>;
  insert(row: McpServerRow): Promise<void>;
  replaceSpec(name: string, spec: string, at: string): Promise<void>;
  /** False when there was no such server. */
  remove(name: string): Promise<boolean>;
}

export function mcpServersRepository(db: Queryable): McpServersRepository {
  return {
    find: (name) => db.selectFrom('mcp_servers').selectAll().where('name', '=', name).executeTakeFirst(),
    list: () => db.selectFrom('mcp_servers').selectAll().orderBy('name').execute(),
    insert: async (row) => {
      await db.insertInto('mcp_servers').values(row).execute();
    },
    replaceSpec: async (name, spec, at) => {
      await db.updateTable('mcp_servers').set({ spec, updated_at: at }).where('name', '=', name).execute();
    },
    remove: async (name) => {
      const result = await db.deleteFrom('mcp_servers').where('name', '=', name).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
