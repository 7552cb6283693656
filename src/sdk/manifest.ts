import crypto from 'node:crypto';
import type { DpopKeyPair } from './dpop.ts';

/** What a runtime claims about itself at attestation; checked against its agent card. */
export interface ManifestClaims {
  agent_id: string;
  join_token: string;
  code_hash: string;
  environment: 'dev' | 'staging' | 'prod';
  model?: string;
  version?: string;
  toolset_hash?: string;
  config_hash?: string;
  runtime?: Record<string, string | number | boolean>;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** The manifest as a compact JWS (`typ` attestation+jwt) signed by the instance key, public JWK in the header. */
export function signManifest(claims: ManifestClaims, key: DpopKeyPair, now = new Date()): string {
  const header = encode({ typ: 'attestation+jwt', alg: 'EdDSA', jwk: key.publicJwk });
  const body = encode({ ...claims, iat: Math.floor(now.getTime() / 1000) });
  const signingInput = `${header}.${body}`;
  return `${signingInput}.${crypto.sign(null, Buffer.from(signingInput), key.privateKey).toString('base64url')}`;
}

/** SHA-256 of a file's bytes or a string, as `sha256:<hex>`: for code and config hashes. */
export const sha256Hex = (data: string | Uint8Array) => `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;

/** The toolset hash the control plane computes from a card: scope items sorted, one per line. */
export const toolsetHash = (toolset: readonly string[]) => sha256Hex([...toolset].sort().join('\n'));
