import crypto from 'node:crypto';
import pg from 'pg';

/**
 * The store a server bench runs on: SQLite in its data dir, or PostgreSQL when BENCH_DATABASE_URL
 * (or MANDATE_DATABASE_URL) is set, in a fresh schema dropped at the end. `tag` marks the rows.
 */
export function benchStore(): { databaseUrl?: string; pgSchema?: string; tag: string; drop(): Promise<void> } {
  const databaseUrl = process.env.BENCH_DATABASE_URL ?? process.env.MANDATE_DATABASE_URL;
  if (!databaseUrl) return { tag: '', drop: async () => {} };
  const pgSchema = `bench_${crypto.randomBytes(4).toString('hex')}`;
  return {
    databaseUrl,
    pgSchema,
    tag: ' [PostgreSQL]',
    drop: async () => {
      const admin = new pg.Client({ connectionString: databaseUrl });
      await admin.connect();
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${pgSchema} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}
