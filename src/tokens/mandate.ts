// RFC 9068 — JWT profile for OAuth 2.0 access tokens: the claims of a mandate
import { type VerificationKeys, verifyJws } from '../jose/jws.ts';
import { TYP } from '../jose/token-types.ts';
import type { RecordConstraints } from './records.ts';

/** One hop of the delegation chain (RFC 8693 §4.1): the current actor, with prior actors nested. */
export interface ActClaim {
  sub: string;
  agent_id: string;
  instance_id: string;
  act?: ActClaim;
}

export interface MandateClaims {
  iss: string;
  /** The person the agent acts for; for agents acting on their own, the instance's SPIFFE ID. */
  sub: string;
  aud: string[];
  iat: number;
  exp: number;
  jti: string;
  client_id: string;
  scope: string;
  act: ActClaim;
  cnf: { jkt: string };
  budget: number;
  /** Delegation hops below the first mandate (0 for a mandate obtained for a person). */
  depth: number;
  parent_jti?: string;
  task?: { id?: string; description?: string };
  /** Whether `sub` is a person (on-behalf-of) or the agent itself. */
  sub_kind: 'person' | 'agent';
  /**
   * The person's groups, from their verified subject token (a child inherits its parent's), so
   * enforcement points read them without the subject token. Absent when the person has none.
   */
  groups?: string[];
  /**
   * RFC 9396 §9.1: the record constraints granted (`mandate_record`), checked against every call's
   * arguments; a child carries its parent's or narrower ones. Absent when the mandate has none.
   */
  authorization_details?: RecordConstraints[];
}

/** The chain person → agent → sub-agent, outermost first, from the nested `act`. */
export function delegationPath(claims: Pick<MandateClaims, 'sub' | 'act' | 'sub_kind'>): string[] {
  const actors: string[] = [];
  for (let act: ActClaim | undefined = claims.act; act; act = act.act) actors.unshift(act.sub);
  return claims.sub_kind === 'person' ? [claims.sub, ...actors] : actors;
}

/** Signature, type, issuer, lifetime and (optionally) audience of a mandate; no revocation check. */
export function verifyMandateJwt(
  token: string,
  options: { issuer: string; audience?: string; keys: VerificationKeys; now: Date },
): MandateClaims {
  const { payload } = verifyJws(token, {
    typ: TYP.mandate,
    issuer: options.issuer,
    audience: options.audience ?? null,
    keys: options.keys,
    now: options.now,
  });
  return payload as unknown as MandateClaims;
}
