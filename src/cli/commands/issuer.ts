import fs from 'node:fs';
import type { Command } from 'commander';
import { apiClient, CliError } from '../client.ts';
import { keyValues, print, table } from '../output.ts';

interface GlobalOpts {
  addr?: string;
  token?: string;
  json?: boolean;
}

interface Issuer {
  issuer: string;
  source: 'inline' | 'jwks_uri' | 'discovery';
  jwks_uri: string | null;
  inline_kids?: Array<string | null>;
  audiences: string[];
  algorithms: string[] | null;
  claims: { subject: string; email: string; groups: string; attributes: string[] };
  allow_loopback: boolean;
  created_at: string;
  created_by: string | null;
}

const commaList = (value: string, previous: string[] = []) => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];
const keysOf = (i: Issuer) => (i.source === 'inline' ? `inline (${(i.inline_kids ?? []).map((k) => k ?? '-').join(', ')})` : `${i.source} ${i.jwks_uri}`);
const path = (issuer: string) => `/v1/issuers/${encodeURIComponent(issuer)}`;

interface AddOptions {
  jwksUri?: string;
  jwksFile?: string;
  audience?: string[];
  alg?: string[];
  subjectClaim?: string;
  emailClaim?: string;
  groupsClaim?: string;
  attribute?: string[];
  allowLoopback?: boolean;
}

function readJwks(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`cannot read a JWKS from ${file}: ${(error as NodeJS.ErrnoException).code ?? 'not JSON'}`, 2);
  }
}

/** `mandate issuer add|list|show|remove`: the identity providers whose person tokens agents may act on. */
export function issuerCommand(program: Command) {
  const issuer = program.command('issuer').description("trusted issuers of person tokens: the persons' identity providers");
  const globals = () => program.opts<GlobalOpts>();
  const client = () => apiClient(globals());

  issuer
    .command('add <issuer-url>')
    .description('trust an OIDC issuer (keys by discovery unless --jwks-uri or --jwks-file)')
    .option('--jwks-uri <url>', 'fetch keys from this JWKS URI instead of discovery')
    .option('--jwks-file <file>', 'inline JWKS from a file (nothing is fetched)')
    .option('--audience <aud>', 'accepted audience (repeatable or comma-separated; default: this Mandate issuer)', commaList)
    .option('--alg <alg>', 'accepted algorithm (repeatable or comma-separated; default RS256,ES256,EdDSA)', commaList)
    .option('--subject-claim <claim>', 'claim naming the person (default sub)')
    .option('--email-claim <claim>', 'claim with the email (default email)')
    .option('--groups-claim <claim>', 'claim with the groups (default groups)')
    .option('--attribute <claim>', 'claim carried as an attribute of the person (repeatable or comma-separated)', commaList)
    .option('--allow-loopback', 'allow fetching from loopback and private addresses (test and on-premises IdPs)')
    .action(async (url: string, opts: AddOptions) => {
      if (opts.jwksUri && opts.jwksFile) throw new CliError('give --jwks-uri or --jwks-file, not both', 2);
      const claims = {
        ...(opts.subjectClaim ? { subject: opts.subjectClaim } : {}),
        ...(opts.emailClaim ? { email: opts.emailClaim } : {}),
        ...(opts.groupsClaim ? { groups: opts.groupsClaim } : {}),
        ...(opts.attribute ? { attributes: opts.attribute } : {}),
      };
      const body = {
        issuer: url,
        ...(opts.jwksUri ? { jwks_uri: opts.jwksUri } : {}),
        ...(opts.jwksFile ? { jwks: readJwks(opts.jwksFile) } : {}),
        ...(opts.audience ? { audiences: opts.audience } : {}),
        ...(opts.alg ? { algorithms: opts.alg } : {}),
        claims,
        allow_loopback: !!opts.allowLoopback,
      };
      const added = await client().request<Issuer>('POST', '/v1/issuers', body);
      print(added, !!globals().json, () => `trusted issuer ${added.issuer}: keys ${keysOf(added)}`);
    });

  issuer
    .command('list')
    .description('list trusted issuers')
    .action(async () => {
      const { issuers } = await client().request<{ issuers: Issuer[] }>('GET', '/v1/issuers');
      const rows = issuers.map((i) => ({ issuer: i.issuer, keys: keysOf(i), audiences: i.audiences.join(',') || '(this issuer)', algorithms: (i.algorithms ?? ['legacy']).join(',') }));
      print(issuers, !!globals().json, () => table(rows, ['issuer', 'keys', 'audiences', 'algorithms']));
    });

  issuer
    .command('show <issuer-url>')
    .description('show one trusted issuer')
    .action(async (url: string) => {
      const i = await client().request<Issuer>('GET', path(url));
      print(i, !!globals().json, () =>
        keyValues({
          issuer: i.issuer,
          keys: keysOf(i),
          audiences: i.audiences.length ? i.audiences : ['(this issuer)'],
          algorithms: i.algorithms ?? ['legacy list'],
          'subject claim': i.claims.subject,
          'email claim': i.claims.email,
          'groups claim': i.claims.groups,
          attributes: i.claims.attributes.length ? i.claims.attributes : ['-'],
          'allow loopback': i.allow_loopback ? 'yes' : 'no',
          created: `${i.created_at}${i.created_by ? ` by ${i.created_by}` : ''}`,
        }),
      );
    });

  issuer
    .command('remove <issuer-url>')
    .description('stop trusting an issuer (its person tokens are refused from now on)')
    .action(async (url: string) => {
      await client().request('DELETE', path(url));
      print({ removed: url }, !!globals().json, () => `removed issuer ${url}`);
    });
}
