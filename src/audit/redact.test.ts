import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { deriveAuditKey, digestArguments, REDACTED, scrubSecrets, searchDigest } from './redact.ts';

const key = deriveAuditKey(Buffer.alloc(32, 7), Buffer.from('deployment-salt'));
const SECRET = 'ghp_R3alT0kenV4lue+/=';

describe('argument digests', () => {
  const args = { repo: 'acme/api', body: `token ${SECRET}`, labels: ['bug'], retries: 2 };

  it('keys an HMAC-SHA256 over the RFC 8785 form of all arguments', () => {
    const canonical = `{"body":"token ${SECRET}","labels":["bug"],"repo":"acme/api","retries":2}`;
    const expected = createHmac('sha256', key).update(canonical).digest('hex');
    expect(digestArguments(args, { key, allow: [] }).args_digest).toBe(`hmac-sha256:${expected}`);
  });

  it('keeps in clear only the allow-listed top-level fields', () => {
    expect(digestArguments(args, { key, allow: ['repo', 'labels', 'missing'] }).args).toEqual({
      repo: 'acme/api',
      labels: ['bug'],
    });
  });

  it('scrubs known secrets from allow-listed fields too', () => {
    const result = digestArguments(args, { key, allow: ['repo', 'body'], secrets: [SECRET] });
    expect(result.args).toEqual({ repo: 'acme/api', body: `token ${REDACTED}` });
  });

  it('gives the same digest whatever the member order', () => {
    const reordered = { retries: 2, labels: ['bug'], body: `token ${SECRET}`, repo: 'acme/api' };
    expect(digestArguments(reordered, { key, allow: [] }).args_digest).toBe(
      digestArguments(args, { key, allow: [] }).args_digest,
    );
  });

  it('lets an investigator find the events of a known call with a search digest', () => {
    const known = JSON.parse(JSON.stringify(args));
    expect(searchDigest(known, key)).toBe(digestArguments(args, { key, allow: [] }).args_digest);
    expect(searchDigest({ ...known, retries: 3 }, key)).not.toBe(digestArguments(args, { key, allow: [] }).args_digest);
  });

  it('cannot be linked across deployments with different salts', () => {
    const other = deriveAuditKey(Buffer.alloc(32, 7), Buffer.from('other-salt'));
    expect(searchDigest(args, other)).not.toBe(searchDigest(args, key));
  });

  it('refuses audit keys shorter than 32 bytes', () => {
    expect(() => deriveAuditKey(Buffer.alloc(16), Buffer.alloc(0))).toThrow(
      expect.objectContaining({ code: 'ERR_AUDIT_KEY_INVALID' }),
    );
    expect(() => searchDigest(args, Buffer.alloc(8))).toThrow(expect.objectContaining({ code: 'ERR_AUDIT_KEY_INVALID' }));
  });

  it('refuses arguments outside JSON rather than digesting a lossy form', () => {
    expect(() => digestArguments({ n: Number.NaN }, { key, allow: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_JCS_NON_FINITE_NUMBER' }),
    );
  });
});

describe('secret scrubbing', () => {
  const scrub = (value: unknown) => scrubSecrets(value, [SECRET]);

  it('replaces the secret anywhere in a string', () => {
    expect(scrub(`Authorization: Bearer ${SECRET}; again ${SECRET}`)).toBe(
      `Authorization: Bearer ${REDACTED}; again ${REDACTED}`,
    );
  });

  it('replaces it deep in objects, arrays and member names, leaving other values alone', () => {
    const input = { a: [{ b: `x${SECRET}y` }, 3, null, true], [SECRET]: 'k' };
    expect(scrub(input)).toEqual({ a: [{ b: `x${REDACTED}y` }, 3, null, true], [REDACTED]: 'k' });
    expect(input.a[0]).toEqual({ b: `x${SECRET}y` });
  });

  it('replaces its URL-encoded forms', () => {
    expect(scrub('https://api.example/?token=ghp_R3alT0kenV4lue%2B%2F%3D&x=1')).toBe(
      `https://api.example/?token=${REDACTED}&x=1`,
    );
    expect(scrub('token=ghp_R3alT0kenV4lue%2b%2f%3d')).toBe(`token=${REDACTED}`);
    expect(scrubSecrets('q=open+sesame+now', ['open sesame now'])).toBe(`q=${REDACTED}`);
  });

  it('replaces its base64 and base64url forms', () => {
    const b64 = Buffer.from(SECRET).toString('base64');
    const b64url = Buffer.from(SECRET).toString('base64url');
    expect(scrub(`data:${b64}`)).toBe(`data:${REDACTED}`);
    expect(scrub(`jwt.${b64url}.sig`)).toBe(`jwt.${REDACTED}.sig`);
  });

  it('replaces it inside Basic credentials, where it is not aligned on a base64 boundary', () => {
    const header = `Basic ${Buffer.from(`bot:${SECRET}`).toString('base64')}`;
    const scrubbed = scrub(header) as string;
    expect(scrubbed).toContain(REDACTED);
    expect(Buffer.from(scrubbed.slice(6), 'base64').toString('latin1')).not.toContain(SECRET);
  });

  it('replaces its JSON-escaped form inside embedded JSON text', () => {
    const secret = 'p"a\\ss\nword';
    expect(scrubSecrets(JSON.stringify({ password: secret }), [secret])).toBe(`{"password":"${REDACTED}"}`);
  });

  it('replaces the longest of overlapping secrets first and never rescans its own marker', () => {
    expect(scrubSecrets('xabcdefx RED', ['abc', 'abcdef', 'RED'])).toBe(`x${REDACTED}x ${REDACTED}`);
  });

  it('ignores empty secrets', () => {
    expect(scrubSecrets({ a: 'keep' }, ['', ''])).toEqual({ a: 'keep' });
  });

  it('leaves no decodable trace of a secret hidden anywhere in base64 text', () => {
    const unit = fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789:_-'.split(''));
    const text = fc.string({ unit, maxLength: 20 });
    fc.assert(
      fc.property(text, fc.string({ unit, minLength: 12, maxLength: 40 }), text, (before, secret, after) => {
        const encoded = Buffer.from(before + secret + after).toString('base64');
        const scrubbed = scrubSecrets(encoded, [secret]);
        expect(scrubbed).toContain(REDACTED);
        for (const piece of scrubbed.split(REDACTED)) {
          for (let shift = 0; shift < 4; shift++) {
            expect(Buffer.from(piece.slice(shift), 'base64').toString('latin1')).not.toContain(secret);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
