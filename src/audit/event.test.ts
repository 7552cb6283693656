import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AuditEvent,
  eventLeafHash,
  GENESIS_HASH,
  hashEvent,
  parseAuditEvent,
  type UnhashedAuditEvent,
} from './event.ts';
import { buildChain } from './testdata/events.ts';

const denial: UnhashedAuditEvent = {
  id: 'evt-1',
  time: '2025-06-01T09:00:00.000Z',
  chain: 'instance:i-1',
  seq: 1,
  type: 'tool.decision',
  actor: { instance: 'i-1', agent: 'triage-bot', person: 'alice', delegation: ['alice', 'i-1'] },
  action: 'github.delete_repo',
  resource: 'mcp://github/repos/acme/api',
  decision: 'deny',
  reasons: { policies: ['forbid-deletes'], risk: 0.5 },
  status: 'failure',
  denial_reason: 'ERR_POLICY_DENIED',
  cost: 1.5,
  prev_hash: GENESIS_HASH,
};

describe('audit event hashing', () => {
  it('starts every chain from 64 zeros', () => {
    expect(GENESIS_HASH).toBe('0'.repeat(64));
  });

  it('hashes the RFC 8785 form of the event, prev_hash included', () => {
    const canonical =
      '{"action":"github.delete_repo","actor":{"agent":"triage-bot","delegation":["alice","i-1"],' +
      '"instance":"i-1","person":"alice"},"chain":"instance:i-1","cost":1.5,"decision":"deny",' +
      '"denial_reason":"ERR_POLICY_DENIED","id":"evt-1","prev_hash":"' +
      GENESIS_HASH +
      '","reasons":{"policies":["forbid-deletes"],"risk":0.5},"resource":"mcp://github/repos/acme/api",' +
      '"seq":1,"status":"failure","time":"2025-06-01T09:00:00.000Z","type":"tool.decision"}';
    expect(hashEvent(denial)).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('leaves the hash field itself out of the hash', () => {
    const hashed: AuditEvent = { ...denial, hash: 'f'.repeat(64) };
    expect(hashEvent(hashed)).toBe(hashEvent(denial));
  });

  it('changes when the link to the previous event changes', () => {
    expect(hashEvent({ ...denial, prev_hash: 'a'.repeat(64) })).not.toBe(hashEvent(denial));
  });

  it('survives re-serialization with other member order and number spelling', () => {
    const text = '{"seq":1e0,"cost":15E-1,"prev_hash":"' + GENESIS_HASH + '","type":"tool.decision",' +
      '"time":"2025-06-01T09:00:00.000Z","status":"failure","resource":"mcp://github/repos/acme/api",' +
      '"reasons":{"risk":0.50,"policies":["forbid-deletes"]},"id":"evt-1","denial_reason":"ERR_POLICY_DENIED",' +
      '"decision":"deny","chain":"instance:i-1","actor":{"person":"alice","instance":"i-1",' +
      '"delegation":["alice","i-1"],"agent":"triage-bot"},"action":"github.delete_repo"}';
    expect(hashEvent(JSON.parse(text))).toBe(hashEvent(denial));
  });
});

describe('audit events in the Merkle log', () => {
  it('enter as the RFC 9162 leaf hash of their 32 hash bytes', () => {
    const hashed = { hash: 'ab'.repeat(32) };
    const expected = createHash('sha256').update(Buffer.of(0)).update(Buffer.alloc(32, 0xab)).digest('hex');
    expect(Buffer.from(eventLeafHash(hashed)).toString('hex')).toBe(expected);
  });
});

describe('audit event schema', () => {
  const [valid] = buildChain(1) as [AuditEvent];

  it('accepts a complete event and returns it unchanged', () => {
    const parsed = parseAuditEvent(JSON.parse(JSON.stringify(valid)));
    expect(parsed).toEqual(valid);
    expect(hashEvent(parsed)).toBe(valid.hash);
  });

  it('accepts null or absent optional fields', () => {
    const minimal = {
      id: 'e',
      time: '2025-06-01T09:00:00Z',
      chain: 'system',
      seq: 3,
      type: 'admin.token_created',
      actor: { person: 'root', delegation: [] },
      decision: null,
      status: 'success',
      prev_hash: 'a'.repeat(64),
      hash: 'b'.repeat(64),
    };
    expect(parseAuditEvent(minimal)).toEqual(minimal);
  });

  it.each([
    ['an unknown field', { extra: 1 }, ''],
    ['a type outside the families', { type: 'tool.called' }, 'type'],
    ['a chain that is neither system nor an instance', { chain: 'agent:x' }, 'chain'],
    ['seq 0', { seq: 0 }, 'seq'],
    ['a time without a zone', { time: '2025-06-01T09:00:00' }, 'time'],
    ['a malformed trace id', { trace_id: 'not-a-trace' }, 'trace_id'],
    ['clear arguments in place of a digest', { args_digest: 'sha256:abc' }, 'args_digest'],
    ['an uppercase hash', { hash: 'A'.repeat(64) }, 'hash'],
  ])('refuses %s with ERR_AUDIT_EVENT_INVALID', (_, patch, path) => {
    try {
      parseAuditEvent({ ...valid, ...patch });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'ERR_AUDIT_EVENT_INVALID', status: 400 });
      expect((e as { details: Array<{ path: string }> }).details.map((d) => d.path)).toContain(path);
    }
  });
});
