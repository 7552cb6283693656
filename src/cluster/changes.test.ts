import { describe, expect, it } from 'vitest';
import { decodeChange, encodeChange } from './changes.ts';

describe('changes on the wire', () => {
  it('carries a key withdrawal to the other replicas', () => {
    expect(decodeChange(encodeChange({ kind: 'keys.revoked', kid: 'k1' }, 'replica-a'))).toEqual({ kind: 'keys.revoked', kid: 'k1' });
    expect(decodeChange(encodeChange({ kind: 'keys.rotated', kid: 'k2' }, 'replica-a'))).toEqual({ kind: 'keys.rotated', kid: 'k2' });
  });

  it('reads a key withdrawal without a kid as a reason to resynchronize everything', () => {
    expect(decodeChange(JSON.stringify({ kind: 'keys.revoked' }))).toEqual({ kind: 'resync' });
    expect(decodeChange(JSON.stringify({ kind: 'keys.revoked', kid: '' }))).toEqual({ kind: 'resync' });
  });

  it('carries a secret change, per-person names included, and reads one without a name as a resync', () => {
    expect(decodeChange(encodeChange({ kind: 'secret.changed', name: 'person_token/auth0|42' }, 'replica-a'))).toEqual({ kind: 'secret.changed', name: 'person_token/auth0|42' });
    expect(decodeChange(JSON.stringify({ kind: 'secret.changed' }))).toEqual({ kind: 'resync' });
  });
});
