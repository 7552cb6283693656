import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkBaseUrl } from '../src/broker/address-guard.ts';
import { addressRefusal, pinnedLookup } from '../src/net/addresses.ts';
import { compileHttp, endpointMetaOf, parseConnectionSpec, ruleMatches } from '../src/broker/connection-spec.ts';
import { forwardedRequestHeaders, returnedResponseHeaders } from '../src/broker/headers.ts';
import { injectQuery, parseInjectRule } from '../src/broker/injection.ts';
import { scramVerifier } from '../src/broker/postgres/roles.ts';
import { tablesTouched } from '../src/broker/postgres/tables.ts';
import { normalizeBrokerPath } from '../src/broker/request-path.ts';
import { scrubBody } from '../src/broker/response-body.ts';

const codeOf = (f: () => unknown) => {
  try {
    f();
    return null;
  } catch (error) {
    return (error as { code?: string }).code;
  }
};

describe('broker request paths', () => {
  it('writes every percent-encoding in one spelling and decides without the trailing slash', () => {
    expect(normalizeBrokerPath('/repos/%7euser/a%2d%3a/%c3%a9')).toEqual({ segments: ['repos', '~user', 'a-:', '%C3%A9'], text: '/repos/~user/a-:/%C3%A9', forwarded: '/repos/~user/a-:/%C3%A9' });
    expect(normalizeBrokerPath('/%61dmin/%55sers')).toMatchObject({ text: '/admin/Users' });
    expect(normalizeBrokerPath('/a/b/')).toEqual({ segments: ['a', 'b'], text: '/a/b', forwarded: '/a/b/' });
    expect(normalizeBrokerPath('').text).toBe('/');
  });

  it('folds letter case only for a connection whose upstream ignores it', () => {
    expect(normalizeBrokerPath('/Admin/%55SERS/%C3%89t%C3%A9').text).toBe('/Admin/USERS/%C3%89t%C3%A9');
    expect(normalizeBrokerPath('/Admin/%55SERS/%C3%89t%C3%A9', { caseInsensitive: true })).toMatchObject({ segments: ['admin', 'users', '%C3%A9t%C3%A9'], forwarded: '/admin/users/%C3%A9t%C3%A9' });
  });

  it('refuses every dot-segment spelling, separator spelling, double encoding and matrix parameter with its own code', () => {
    const cases: Array<[string, string]> = [
      ['/a/%C0%AE%C0%AE/b', 'ERR_BROKER_PATH_INVALID'],
      ['/a/.;x=1/b', 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/a/./b', 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/a/../b', 'ERR_BROKER_PATH_TRAVERSAL'],
      ['/a/%252e%252e/b', 'ERR_BROKER_PATH_DOUBLE_ENCODED'],
      ['/a/%252F/b', 'ERR_BROKER_PATH_DOUBLE_ENCODED'],
      ['/a/b\\c', 'ERR_BROKER_PATH_ENCODED_SEPARATOR'],
      ['/a/%2F/b', 'ERR_BROKER_PATH_ENCODED_SEPARATOR'],
      ['/a/%EF%BC%8F/b', 'ERR_BROKER_PATH_ENCODED_SEPARATOR'],
      ['/admin;x/b', 'ERR_BROKER_PATH_MATRIX_PARAMS'],
      ['/admin%3bx/b', 'ERR_BROKER_PATH_MATRIX_PARAMS'],
      ['/a//b', 'ERR_BROKER_PATH_INVALID'],
      ['/a/e%CC%81', 'ERR_BROKER_PATH_INVALID'],
      ['/a/%C2%85', 'ERR_BROKER_PATH_INVALID'],
    ];
    expect(cases.map(([path]) => [path, codeOf(() => normalizeBrokerPath(path))])).toEqual(cases);
  });

  it('never yields a path that climbs out of the base, whatever the input', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '.', '..', '%2e', '%2E%2e', '%2f', '', ';', '%00', '~', '%41'), { maxLength: 6 }), (parts) => {
        try {
          const { segments } = normalizeBrokerPath(`/${parts.join('/')}`);
          return segments.every((s) => {
            const decoded = decodeURIComponent(s);
            return s !== '' && !/[/\\;]/.test(decoded) && !['.', '..'].includes(decoded);
          });
        } catch (error) {
          return /^ERR_BROKER_PATH_/.test((error as { code: string }).code);
        }
      }),
    );
  });
});

describe('where a connection may reach', () => {
  it('refuses link-local, metadata and mapped addresses always, and loopback only when reached by name', () => {
    expect(addressRefusal('169.254.169.254', false)).toMatch(/link-local/);
    expect(addressRefusal('fe80::1', false)).toMatch(/link-local/);
    expect(addressRefusal('fd00:ec2::254', false)).toMatch(/metadata/);
    expect(addressRefusal('100.100.100.200', false)).toMatch(/metadata/);
    expect(addressRefusal('::ffff:169.254.169.254', true)).toMatch(/link-local/);
    expect(addressRefusal('::ffff:127.0.0.1', true)).toMatch(/loopback/);
    expect(addressRefusal('0.0.0.0', false)).toMatch(/unspecified/);
    expect(addressRefusal('127.0.0.1', false)).toBeNull();
    expect(addressRefusal('127.0.0.1', true)).toMatch(/loopback/);
    expect(addressRefusal('::1', true)).toMatch(/loopback/);
    expect(addressRefusal('10.1.2.3', true)).toBeNull();
    expect(addressRefusal('140.82.112.6', true)).toBeNull();
  });

  it('accepts canonical base URLs and refuses the rest', () => {
    expect(checkBaseUrl('https://api.github.com', false).href).toBe('https://api.github.com/');
    expect(checkBaseUrl('http://127.0.0.1:8080/v2', false).pathname).toBe('/v2');
    expect(checkBaseUrl('http://[::1]:8080/', false).hostname).toBe('[::1]');
    for (const bad of ['http://[0:0:0:0:0:0:0:1]/', 'http://%31%32%37.0.0.1/', 'http://0x7f000001/', 'https://api.github.com/?a=1', 'ftp://x/', 'http://example.com/']) {
      expect(codeOf(() => checkBaseUrl(bad, false))).toBe('ERR_CONNECTION_BASE_URL');
    }
  });

  it('resolves only the base URL host, checks every address, and pins the answer', async () => {
    let calls = 0;
    const lookup = pinnedLookup('api.test', async () => {
      calls++;
      return [{ address: '203.0.113.7', family: 4 }];
    });
    const ask = (host: string, all: boolean) =>
      new Promise<unknown>((resolve) => lookup(host, { all }, (err, address) => resolve(err ? (err as { code?: string }).code : address)));
    expect(await ask('api.test', false)).toBe('203.0.113.7');
    expect(await ask('api.test', true)).toEqual([{ address: '203.0.113.7', family: 4 }]);
    expect(calls).toBe(1);
    expect(await ask('other.test', false)).toBe('ERR_UPSTREAM_ADDRESS_REFUSED');
    const mixed = pinnedLookup('mixed.test', async () => [{ address: '203.0.113.7', family: 4 }, { address: '169.254.169.254', family: 4 }]);
    expect(await new Promise((resolve) => mixed('mixed.test', {}, (err) => resolve((err as { code?: string } | null)?.code)))).toBe('ERR_UPSTREAM_ADDRESS_REFUSED');
  });
});

describe('connection specs and injection rules', () => {
  it('parses the three injection forms', () => {
    expect(parseInjectRule('header:Authorization=Bearer {{secret:github_token}}')).toEqual({ kind: 'header', name: 'authorization', template: 'Bearer {{secret:github_token}}' });
    expect(parseInjectRule('query:api_key={{secret:k/<sub>}}')).toEqual({ kind: 'query', name: 'api_key', template: '{{secret:k/<sub>}}' });
    expect(parseInjectRule('basic:{{secret:user}}:{{secret:pass}}')).toEqual({ kind: 'basic', username: '{{secret:user}}', password: '{{secret:pass}}' });
    for (const bad of ['header:Host=x', 'header:X=a{{secrets:x}}', 'cookie:a=b', 'basic:{{secret:user}}', 'header:Bad Name=x']) {
      expect(codeOf(() => parseInjectRule(bad))).toBe('ERR_CONNECTION_INJECT');
    }
  });

  it('replaces the agent’s parameter of the injected name and keeps the rest as sent', () => {
    expect(injectQuery('a=1&api_key=mine&api%5Fkey=x&b=%20', [['api_key', 's e/cret']])).toBe('a=1&b=%20&api_key=s%20e%2Fcret');
  });

  it('applies the most conservative metadata of every matching endpoint entry', () => {
    const spec = parseConnectionSpec({
      name: 'gh',
      base_url: 'https://api.github.com',
      allow: ['* /**'],
      endpoints: [
        { match: '* /**', classification: 'internal', cost: 1 },
        { match: 'DELETE /repos/**', high_impact: true, cost: 50 },
        { match: 'GET /repos/*/secrets/**', classification: 'restricted' },
        { match: 'GET /repos/**', classification: 'public' },
      ],
    });
    expect(endpointMetaOf(spec, 'GET', ['repos', 'x', 'secrets', 'y'])).toEqual({ cost: 1, classification: 'restricted', highImpact: false });
    expect(endpointMetaOf(spec, 'DELETE', ['repos', 'x'])).toEqual({ cost: 50, classification: 'internal', highImpact: true });
    expect(codeOf(() => parseConnectionSpec({ name: 'gh', base_url: 'https://x.test', allow: ['GET repos'] }))).toBe('ERR_CONNECTION_RULE');
    expect(codeOf(() => parseConnectionSpec({ name: '..', base_url: 'https://x.test', allow: ['GET /'] }))).toBe('ERR_VALIDATION');
  });

  it('folds allow rules and endpoint matches to lower case when the upstream ignores case, and only then', () => {
    const rules = { base_url: 'https://x.test', allow: ['GET /Public/**'], endpoints: [{ match: 'DELETE /Admin/**', high_impact: true }] };
    const folded = parseConnectionSpec({ name: 'ci', path_case: 'insensitive', ...rules });
    const exact = parseConnectionSpec({ name: 'cs', ...rules });
    expect(exact).toMatchObject({ path_case: 'sensitive' });
    expect(endpointMetaOf(folded, 'DELETE', ['admin', 'users']).highImpact).toBe(true);
    expect(endpointMetaOf(exact, 'DELETE', ['admin', 'users']).highImpact).toBe(false);
    expect(endpointMetaOf(exact, 'DELETE', ['Admin', 'users']).highImpact).toBe(true);
    const allowed = (spec: ReturnType<typeof parseConnectionSpec>, path: string[]) =>
      spec.type === 'http' && compileHttp(spec).allow.some((rule) => ruleMatches(rule, 'GET', path));
    expect([allowed(folded, ['public', 'x']), allowed(folded, ['Public', 'x']), allowed(exact, ['public', 'x'])]).toEqual([true, false, false]);
  });
});

describe('what crosses the broker', () => {
  it('strips credentials, hop-by-hop fields and what the Connection header lists', () => {
    const out = forwardedRequestHeaders({ authorization: 'DPoP x', dpop: 'p', cookie: 'c', host: 'h', connection: 'x-hop', 'x-hop': '1', 'x-api-key': 'mine', accept: 'application/json' }, ['x-api-key']);
    expect(out).toEqual({ accept: 'application/json' });
    expect(codeOf(() => forwardedRequestHeaders({ 'x-a': 'a\r\nb' }, []))).toBe('ERR_BROKER_HEADER_INVALID');
    const back = returnedResponseHeaders({ 'set-cookie': ['a=1'], 'x-token': 'tok-0123456789', 'access-control-allow-origin': '*', etag: '"1"' }, [], ['tok-0123456789']);
    expect(back).toEqual({ 'x-token': '[REDACTED]', etag: '"1"' });
  });

  it('scrubs text bodies in any common encoding of the secret and withholds binary ones that hold it', () => {
    const secret = 'sk-live-abcdefghijklmnop';
    const text = JSON.stringify({ raw: secret, b64: Buffer.from(`user:${secret}`).toString('base64'), url: encodeURIComponent(`${secret}/`) });
    expect(scrubBody(Buffer.from(text), 'application/json', [secret]).toString()).not.toMatch(/abcdefghijklmnop|YWJjZGVmZ2hpamtsbW5vcA/);
    expect(codeOf(() => scrubBody(Buffer.concat([Buffer.from([0xff, 0]), Buffer.from(secret)]), 'image/png', [secret]))).toBe('ERR_UPSTREAM_SECRET_IN_BODY');
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0xff]);
    expect(scrubBody(png, 'image/png', [secret])).toBe(png);
  });
});

describe('database helpers', () => {
  it('names the tables a statement touches', () => {
    expect(tablesTouched('SELECT o.id FROM public.orders o JOIN "Customers" c ON c.id = o.cid WHERE o.x IN (SELECT y FROM t2)')).toEqual(['Customers', 'public.orders', 't2']);
    expect(tablesTouched("INSERT INTO audit_log (a, b) VALUES ('from secrets', 2)")).toEqual(['audit_log']);
    expect(tablesTouched('UPDATE stock SET n = n - 1 -- FROM hidden\n')).toEqual(['stock']);
    expect(tablesTouched('SELECT extract(year FROM created) FROM a, b AS bb, c')).toEqual(['a', 'b', 'c']);
    expect(tablesTouched('DELETE FROM only sales; TRUNCATE TABLE x')).toEqual(['sales', 'x']);
    expect(tablesTouched('SELECT * FROM generate_series(1, 3)')).toEqual([]);
  });

  it('computes the SCRAM-SHA-256 verifier PostgreSQL stores (RFC 7677 test vector)', () => {
    // RFC 7677 §3: password "pencil", salt W22ZaJ0SNY7soEsUEjb6gQ==, 4096 iterations.
    const verifier = scramVerifier('pencil', Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'));
    expect(verifier).toBe('SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=');
  });
});

describe('the broker’s architecture', () => {
  it('decides every call through the shared decision path, never through policy directly', async () => {
    const fs = await import('node:fs');
    const path = await import('node:path');
    const root = path.resolve(import.meta.dirname, '../src/broker');
    const files = fs.readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
    const sources = files.map((f) => fs.readFileSync(path.join(root, f), 'utf8'));
    expect(sources.some((s) => /from '[./]+\/policy\/(authorizer|runtime|policy-set)|cedar-wasm/.test(s))).toBe(false);
    expect(files.filter((f, i) => /\bdecideCall\(/.test(sources[i]!)).sort()).toEqual(['broker.ts', path.join('postgres', 'database-broker.ts')]);
  });
});
