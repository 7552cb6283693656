import crypto from 'node:crypto';
import { signJws, type VerificationKeys, verifyJws } from '../jose/jws.ts';
import { IDENTITY_TOKEN_SECONDS, TYP } from '../jose/token-types.ts';
import type { SigningKey } from './signing-keys.ts';

/**
 * Instance identity tokens: JWT-SVID claims (`sub` = the SPIFFE ID, `aud`, `exp`) plus
 * `cnf.jkt` (RFC 7800, RFC 9449 §6.1) binding the token to the instance key. Presented as the
 * `actor_token` of a token exchange, always with a DPoP proof from that key.
 */
export interface IdentityClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  exp: number;
  jti: string;
  cnf: { jkt: string };
  agent_id: string;
  instance_id: string;
}

export function issueIdentityToken(
  signer: SigningKey,
  input: { issuer: string; spiffeId: string; jkt: string; agentId: string; instanceId: string; now: Date },
): { token: string; claims: IdentityClaims } {
  const iat = Math.floor(input.now.getTime() / 1000);
  const claims: IdentityClaims = {
    iss: input.issuer,
    sub: input.spiffeId,
    aud: input.issuer,
    iat,
    exp: iat + IDENTITY_TOKEN_SECONDS,
    jti: crypto.randomBytes(16).toString('base64url'),
    cnf: { jkt: input.jkt },
    agent_id: input.agentId,
    instance_id: input.instanceId,
  };
  return { token: signJws({ typ: TYP.identity, kid: signer.kid }, { ...claims }, signer.privateKey), claims };
}

export function verifyIdentityToken(
  token: string,
  options: { issuer: string; keys: VerificationKeys; now: Date },
): IdentityClaims {
  const { payload } = verifyJws(token, { typ: TYP.identity, issuer: options.issuer, audience: options.issuer, keys: options.keys, now: options.now });
  return payload as unknown as IdentityClaims;
}
