import path from 'node:path';
import { z } from 'zod';

/**
 * The one configuration schema: defaults, validation and the README's configuration table come
 * from here. Every setting has an environment variable; `mandate serve` flags override them.
 */
export const configSchema = z.strictObject({
  dataDir: z.string().min(1).describe('MANDATE_DATA_DIR: data directory (SQLite file, master key, policies)'),
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
    .optional()
    .describe('MANDATE_DATABASE_URL: PostgreSQL URL; when unset, SQLite under the data dir'),
  deployment: z
    .enum(['single', 'replicated'])
    .optional()
    .describe(
      'MANDATE_DEPLOYMENT: single (one process; the policy directory is the source) or replicated (stateless replicas over PostgreSQL; the database is the source, changes reach every replica through LISTEN/NOTIFY); default single on SQLite, replicated on PostgreSQL',
    ),
  host: z.string().min(1).describe('MANDATE_HOST: address to listen on'),
  port: z.coerce.number().int().min(0).max(65535).describe('MANDATE_PORT: port to listen on'),
  trustDomain: z
    .string()
    .regex(
      /^[a-z0-9.\-_]+$/,
      'must be a SPIFFE trust domain: lowercase letters, digits, dot, dash, underscore',
    )
    .describe('MANDATE_TRUST_DOMAIN: SPIFFE trust domain, set on first start'),
  masterKey: z
    .string()
    .optional()
    .describe('MANDATE_MASTER_KEY: base64 32-byte master key (else the key file)'),
  masterKeyFile: z
    .string()
    .optional()
    .describe('MANDATE_MASTER_KEY_FILE: master key file (default <data dir>/master.key)'),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .describe('MANDATE_LOG_LEVEL: log level'),
  devIssuer: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .transform((v) => v === true || v === 'true' || v === '1')
    .describe('MANDATE_DEV_ISSUER: enable the built-in development person-token issuer'),
  devIssuerProd: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .transform((v) => v === true || v === 'true' || v === '1')
    .describe('MANDATE_DEV_ISSUER_PROD: accept development person tokens for agents in the prod environment (demo and quickstart only)'),
  issuerKeysMaxAge: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .describe("MANDATE_ISSUER_KEYS_MAX_AGE: seconds a trusted issuer's fetched JWKS is used before it is fetched again"),
  issuerKeysRefresh: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .describe("MANDATE_ISSUER_KEYS_REFRESH: at most one fetch of an issuer's JWKS per this many seconds (an unknown kid asks for one)"),
  issuerKeysStale: z.coerce
    .number()
    .int()
    .min(0)
    .max(604_800)
    .describe("MANDATE_ISSUER_KEYS_STALE: seconds past their age an issuer's keys are still used while its IdP is down; then 503"),
  publicUrl: z
    .string()
    .url()
    .optional()
    .describe('MANDATE_PUBLIC_URL: external base URL (issuer); default http://host:port'),
  authFailureLimit: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .describe('MANDATE_AUTH_FAILURE_LIMIT: failed token requests, admin authentications or consents per client address and window before 429 (0: no limit; per replica)'),
  authFailureWindow: z.coerce
    .number()
    .int()
    .min(1)
    .max(86_400)
    .describe('MANDATE_AUTH_FAILURE_WINDOW: the window of that limit, in seconds'),
  dpopNonce: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .transform((v) => v === true || v === 'true' || v === '1')
    .describe('MANDATE_DPOP_NONCE: require server-provided DPoP nonces (RFC 9449 §8, §9) at the token endpoint and enforcement points'),
  ssoIssuer: z
    .string()
    .url()
    .optional()
    .describe("MANDATE_SSO_ISSUER: the operators' OpenID provider (issuer URL, discovered at <issuer>/.well-known/openid-configuration); single sign-on is off unless set. http:// only on loopback"),
  ssoClientId: z.string().min(1).max(200).optional().describe('MANDATE_SSO_CLIENT_ID: the client id registered for Mandate at that provider'),
  ssoClientSecret: z.string().min(1).optional().describe('MANDATE_SSO_CLIENT_SECRET: its client secret (client_secret_basic); unset for a public client (PKCE alone)'),
  ssoRedirectBase: z
    .string()
    .url()
    .optional()
    .describe('MANDATE_SSO_REDIRECT_BASE: base URL the provider redirects to (<base>/v1/login/callback is the registered redirect URI); default the public URL'),
  ssoRoleMap: z
    .string()
    .optional()
    .describe('MANDATE_SSO_ROLE_MAP: groups to roles, comma-separated group=role[:environment] (mandate-approvers=approver:prod,mandate-admins=admin); a group may appear more than once; a login with no mapped group is refused'),
  ssoGroupsClaim: z.string().min(1).max(100).describe('MANDATE_SSO_GROUPS_CLAIM: the ID token (or userinfo) claim that lists the groups'),
  loginRateLimit: z.coerce
    .number()
    .int()
    .min(0)
    .max(1_000_000)
    .describe('MANDATE_LOGIN_RATE_LIMIT: login requests (start, device start and poll) per client address and minute before 429 (0: no limit; per replica)'),
  ssoSessionTtl: z.coerce.number().int().min(60).max(86_400).describe('MANDATE_SSO_SESSION_TTL: lifetime of the operator session token a login issues, in seconds'),
  offboardReassign: z
    .enum(['manager', 'sponsor', 'none'])
    .describe("MANDATE_OFFBOARD_REASSIGN: when an owner leaves, hand their agents to their manager (SCIM enterprise manager; else the sponsor), to the sponsor, or to nobody (the agents stay orphaned and are suspended after the grace period)"),
  offboardSponsor: z.string().trim().min(1).max(320).optional().describe('MANDATE_OFFBOARD_SPONSOR: the person (email or SCIM userName) who takes over agents nobody else takes'),
  offboardGrace: z.coerce.number().int().min(0).max(90 * 86_400).describe('MANDATE_OFFBOARD_GRACE: seconds an orphaned agent keeps running before it is suspended (0: at once)'),
  reapInterval: z.coerce
    .number()
    .int()
    .refine((n) => n === 0 || (n >= 60 && n <= 86_400), 'must be 0 (off) or 60 to 86400 seconds')
    .describe('MANDATE_REAP_INTERVAL: seconds between clean-up runs in the server (0: off; run it with POST /v1/lifecycle/reap)'),
  reapInstanceIdle: z.coerce.number().int().min(0).max(366 * 86_400).describe('MANDATE_REAP_INSTANCE_IDLE: seconds without activity after which an instance is revoked, its mandates with it (0: never)'),
  reapAgentUnusedDays: z.coerce.number().int().min(0).max(3650).describe('MANDATE_REAP_AGENT_UNUSED_DAYS: days without activity after which an agent is flagged stale (0: never)'),
  reapSuspendUnused: z
    .union([z.boolean(), z.enum(['true', 'false', '1', '0'])])
    .transform((v) => v === true || v === 'true' || v === '1')
    .describe('MANDATE_REAP_SUSPEND_UNUSED: also suspend an agent flagged stale'),
  reviewCheckInterval: z.coerce.number().int().min(0).max(86_400).describe('MANDATE_REVIEW_CHECK_INTERVAL: seconds between checks that remind owners of pending access reviews and close campaigns past their due date (0: off)'),
  reviewRemindEvery: z.coerce.number().int().min(60).max(30 * 86_400).describe('MANDATE_REVIEW_REMIND_EVERY: seconds between reminders to the owner of one pending review item'),
  discoveryAllowRoles: z.string().max(10_000).describe('MANDATE_DISCOVERY_ALLOW_ROLES: PostgreSQL login roles discovery does not report, comma-separated (besides the connection\'s own user and Mandate\'s dynamic roles)'),
  hygieneStaleDays: z.coerce.number().int().min(1).max(3650).describe('MANDATE_HYGIENE_STALE_DAYS: days without activity in the trail after which an agent is stale, and a granted toolset item unused'),
  hygieneMaxKeyAge: z.coerce.number().int().min(1).max(3650).describe('MANDATE_HYGIENE_MAX_KEY_AGE: days after which a secret or a signing key is reported as old'),
});

/** One process, or replicas sharing a PostgreSQL database: a setting, never guessed from the dialect. */
export type Deployment = 'single' | 'replicated';

export type Config = Omit<z.infer<typeof configSchema>, 'deployment'> & { deployment: Deployment };

export const configDefaults = {
  dataDir: '.mandate',
  host: '127.0.0.1',
  port: 7470,
  trustDomain: 'mandate.local',
  logLevel: 'info',
  devIssuer: true,
  devIssuerProd: false,
  issuerKeysMaxAge: 300,
  issuerKeysRefresh: 30,
  issuerKeysStale: 3600,
  authFailureLimit: 20,
  authFailureWindow: 60,
  dpopNonce: false,
  ssoGroupsClaim: 'groups',
  ssoSessionTtl: 3600,
  loginRateLimit: 60,
  offboardReassign: 'manager',
  offboardGrace: 7 * 86_400,
  reapInterval: 0,
  reapInstanceIdle: 0,
  reapAgentUnusedDays: 0,
  reapSuspendUnused: false,
  reviewCheckInterval: 300,
  reviewRemindEvery: 86_400,
  discoveryAllowRoles: '',
  hygieneStaleDays: 30,
  hygieneMaxKeyAge: 90,
} as const;

const envNames: Record<keyof Config, string> = {
  dataDir: 'MANDATE_DATA_DIR',
  databaseUrl: 'MANDATE_DATABASE_URL',
  deployment: 'MANDATE_DEPLOYMENT',
  host: 'MANDATE_HOST',
  port: 'MANDATE_PORT',
  trustDomain: 'MANDATE_TRUST_DOMAIN',
  masterKey: 'MANDATE_MASTER_KEY',
  masterKeyFile: 'MANDATE_MASTER_KEY_FILE',
  logLevel: 'MANDATE_LOG_LEVEL',
  devIssuer: 'MANDATE_DEV_ISSUER',
  devIssuerProd: 'MANDATE_DEV_ISSUER_PROD',
  issuerKeysMaxAge: 'MANDATE_ISSUER_KEYS_MAX_AGE',
  issuerKeysRefresh: 'MANDATE_ISSUER_KEYS_REFRESH',
  issuerKeysStale: 'MANDATE_ISSUER_KEYS_STALE',
  publicUrl: 'MANDATE_PUBLIC_URL',
  authFailureLimit: 'MANDATE_AUTH_FAILURE_LIMIT',
  authFailureWindow: 'MANDATE_AUTH_FAILURE_WINDOW',
  dpopNonce: 'MANDATE_DPOP_NONCE',
  ssoIssuer: 'MANDATE_SSO_ISSUER',
  ssoClientId: 'MANDATE_SSO_CLIENT_ID',
  ssoClientSecret: 'MANDATE_SSO_CLIENT_SECRET',
  ssoRedirectBase: 'MANDATE_SSO_REDIRECT_BASE',
  ssoRoleMap: 'MANDATE_SSO_ROLE_MAP',
  ssoGroupsClaim: 'MANDATE_SSO_GROUPS_CLAIM',
  ssoSessionTtl: 'MANDATE_SSO_SESSION_TTL',
  loginRateLimit: 'MANDATE_LOGIN_RATE_LIMIT',
  offboardReassign: 'MANDATE_OFFBOARD_REASSIGN',
  offboardSponsor: 'MANDATE_OFFBOARD_SPONSOR',
  offboardGrace: 'MANDATE_OFFBOARD_GRACE',
  reapInterval: 'MANDATE_REAP_INTERVAL',
  reapInstanceIdle: 'MANDATE_REAP_INSTANCE_IDLE',
  reapAgentUnusedDays: 'MANDATE_REAP_AGENT_UNUSED_DAYS',
  reapSuspendUnused: 'MANDATE_REAP_SUSPEND_UNUSED',
  reviewCheckInterval: 'MANDATE_REVIEW_CHECK_INTERVAL',
  reviewRemindEvery: 'MANDATE_REVIEW_REMIND_EVERY',
  discoveryAllowRoles: 'MANDATE_DISCOVERY_ALLOW_ROLES',
  hygieneStaleDays: 'MANDATE_HYGIENE_STALE_DAYS',
  hygieneMaxKeyAge: 'MANDATE_HYGIENE_MAX_KEY_AGE',
};

/** Merge defaults < environment < explicit overrides, then validate. */
export function loadConfig(
  overrides: Partial<Record<keyof Config, unknown>> = {},
  env = process.env,
): Config {
  const fromEnv: Record<string, unknown> = {};
  for (const [key, name] of Object.entries(envNames)) {
    const value = env[name];
    if (value !== undefined && value !== '') fromEnv[key] = value;
  }
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const parsed = configSchema.safeParse({ ...configDefaults, ...fromEnv, ...defined });
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = String(issue?.path[0] ?? '');
    const name = envNames[key as keyof Config] ?? key;
    throw new Error(`invalid configuration ${name}: ${issue?.message}`);
  }
  const deployment = parsed.data.deployment ?? (parsed.data.databaseUrl ? 'replicated' : 'single');
  // Replicas share state only through PostgreSQL (rows and LISTEN/NOTIFY); a SQLite file has one writer.
  if (deployment === 'replicated' && !parsed.data.databaseUrl) {
    throw new Error('invalid configuration MANDATE_DEPLOYMENT: replicated needs MANDATE_DATABASE_URL (PostgreSQL)');
  }
  return { ...parsed.data, deployment, dataDir: path.resolve(parsed.data.dataDir) };
}

export const configEnvNames = envNames;
