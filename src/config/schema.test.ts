import { describe, expect, it } from 'vitest';
import { loadConfig } from './schema.ts';

describe('the deployment setting', () => {
  it('defaults to one process on SQLite and to replicas on PostgreSQL', () => {
    expect(loadConfig({}, {}).deployment).toBe('single');
    expect(loadConfig({ databaseUrl: 'postgres://db/mandate' }, {}).deployment).toBe('replicated');
  });

  it('is taken from MANDATE_DEPLOYMENT, so one process may run over PostgreSQL', () => {
    expect(loadConfig({}, { MANDATE_DATABASE_URL: 'postgres://db/mandate', MANDATE_DEPLOYMENT: 'single' }).deployment).toBe('single');
  });

  it('refuses replicas without PostgreSQL and values it does not know', () => {
    expect(() => loadConfig({ deployment: 'replicated' }, {})).toThrow(/MANDATE_DEPLOYMENT: replicated needs MANDATE_DATABASE_URL/);
    expect(() => loadConfig({}, { MANDATE_DEPLOYMENT: 'cluster' })).toThrow(/MANDATE_DEPLOYMENT/);
  });
});
