import type { Migration, MigrationProvider } from 'kysely/migration';
import * as foundation from './0001_foundation.ts';
import * as identity from './0002_identity.ts';
import * as gateway from './0003_gateway.ts';

/** Versioned migrations, applied in name order at start. Append; never edit a released one. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': foundation,
  '0002_identity': identity,
  '0003_gateway': gateway,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
