// RFC 9449 — DPoP proofs, created by an agent runtime
import crypto, { type KeyObject } from 'node:crypto';
import { jwkThumbprint } from '../jose/jwk-thumbprint.ts';

/** The public half of an instance key, as it travels in a proof's `jwk` header (RFC 8037 §2). */
export interface Ed25519PublicJwk {
  kty: 'OKP';
  crv: 'Ed25519';
  x: string;
}

export interface DpopKeyPair {
  /** Never leaves the runtime. */
  privateKey: KeyObject;
  publicJwk: Ed25519PublicJwk;
  /** RFC 7638 thumbprint: the `cnf.jkt` tokens bound to this key carry. */
  jkt: string;
}

/** A fresh Ed25519 key pair for an instance (DESIGN §1.2: the private key never leaves it). */
export function generateDpopKeyPair(): DpopKeyPair {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ed25519');
  const { x } = publicKey.export({ format: 'jwk' });
  const publicJwk: Ed25519PublicJwk = { kty: 'OKP', crv: 'Ed25519', x: x! };
  return { privateKey, publicJwk, jkt: jwkThumbprint(publicJwk) };
}

export interface CreateDpopProofInput {
  privateKey: KeyObject;
  publicJwk: Ed25519PublicJwk;
  /** The HTTP method of the request the proof goes with, e.g. `POST`. */
  htm: string;
  /** The request URI; query and fragment are removed (RFC 9449 §4.2). */
  htu: string;
  /** The access token sent with the request, hashed into `ath` (RFC 9449 §4.2). */
  accessToken?: string;
  /** The last nonce the server sent in a `DPoP-Nonce` header (RFC 9449 §8). */
  nonce?: string;
  now?: Date;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A DPoP proof JWT (RFC 9449 §4.2) signed with Ed25519: header `typ`, `alg`, `jwk`; claims `jti`,
 * `htm`, `htu`, `iat`, and `ath` / `nonce` when given. One proof per request: never reuse it.
 */
export function createDpopProof(input: CreateDpopProofInput): string {
  const { x } = input.publicJwk;
  if (input.privateKey.asymmetricKeyType !== 'ed25519' || typeof x !== 'string') {
    throw new TypeError('createDpopProof needs an Ed25519 private key and its public JWK');
  }
  const url = new URL(input.htu);
  url.search = '';
  url.hash = '';
  const header = encode({ typ: 'dpop+jwt', alg: 'EdDSA', jwk: { kty: 'OKP', crv: 'Ed25519', x } });
  const claims: Record<string, unknown> = {
    jti: crypto.randomUUID(),
    htm: input.htm,
    htu: url.href,
    iat: Math.floor((input.now ?? new Date()).getTime() / 1000),
  };
  if (input.accessToken !== undefined) {
    claims.ath = crypto.createHash('sha256').update(input.accessToken).digest('base64url');
  }
  if (input.nonce !== undefined) claims.nonce = input.nonce;
  const signingInput = `${header}.${encode(claims)}`;
  return `${signingInput}.${crypto.sign(null, Buffer.from(signingInput), input.privateKey).toString('base64url')}`;
}
