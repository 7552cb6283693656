import type { Migration, MigrationProvider } from 'kysely/migration';
import * as foundation from './0001_foundation.ts';
import * as identity from './0002_identity.ts';
import * as gateway from './0003_gateway.ts';
import * as audit from './0004_audit.ts';
import * as broker from './0005_broker.ts';
import * as governance from './0006_governance.ts';
import * as cluster from './0007_cluster.ts';
import * as keyWithdrawal from './0008_key_withdrawal.ts';
import * as auditIndexes from './0009_audit_indexes.ts';
import * as notifySinks from './0010_notify_sinks.ts';
import * as operators from './0011_operators.ts';
import * as sso from './0012_sso.ts';
import * as trustedIssuers from './0013_trusted_issuers.ts';
import * as entitlements from './0014_entitlements.ts';
import * as consoleSessions from './0015_console_sessions.ts';
import * as lifecycle from './0016_lifecycle.ts';
import * as trailSinks from './0018_trail_sinks.ts';
import * as alertCooldowns from './0019_alert_cooldowns.ts';
import * as a2aPeers from './0020_a2a_peers.ts';
import * as reviewsFindings from './0017_reviews_findings.ts';

/** Versioned migrations, applied in name order at start. Append; never edit a released one. */
export const migrations: Record<string, Migration> = {
  '0001_foundation': foundation,
  '0002_identity': identity,
  '0003_gateway': gateway,
  '0004_audit': audit,
  '0005_broker': broker,
  '0006_governance': governance,
  '0007_cluster': cluster,
  '0008_key_withdrawal': keyWithdrawal,
  '0009_audit_indexes': auditIndexes,
  '0010_notify_sinks': notifySinks,
  '0011_operators': operators,
  '0012_sso': sso,
  '0013_trusted_issuers': trustedIssuers,
  '0014_entitlements': entitlements,
  '0015_console_sessions': consoleSessions,
  '0016_lifecycle': lifecycle,
  '0017_reviews_findings': reviewsFindings,
  '0018_trail_sinks': trailSinks,
  '0019_alert_cooldowns': alertCooldowns,
  '0020_a2a_peers': a2aPeers,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
