import { z } from 'zod';
import { MandateError } from '../errors.ts';
import { importProofKey } from '../jose/dpop-key.ts';
import { verifyProofSignature } from '../jose/dpop-key.ts';
import { parseCompact } from '../jose/jws-compact.ts';
import { parseJsonObject } from '../jose/strict-json.ts';
import { TYP } from '../jose/token-types.ts';
import { parseOrThrow } from '../validation.ts';

/**
 * The instance manifest: claims about a running agent instance, signed (compact JWS, `typ`
 * attestation+jwt) with the instance's own Ed25519 key, whose public JWK rides in the header.
 * The signature proves possession of the key the identity token will be bound to.
 */
const MAX_MANIFEST_LENGTH = 16 * 1024;
const MANIFEST_MAX_AGE_SECONDS = 300;

const hash = z
  .string()
  .transform((v) => v.trim().toLowerCase())
  .pipe(z.string().regex(/^(sha256:)?[0-9a-f]{64}$/, 'must be sha256:<64 hex digits>'))
  .transform((v) => (v.startsWith('sha256:') ? v : `sha256:${v}`));

export const manifestSchema = z.strictObject({
  agent_id: z.string().min(1).max(64),
  join_token: z.string().min(1).max(200),
  code_hash: hash,
  model: z.string().max(200).optional(),
  version: z.string().max(100).optional(),
  environment: z.enum(['dev', 'staging', 'prod']),
  toolset_hash: hash.optional(),
  config_hash: hash.optional(),
  /** Host and runtime claims (hostname, image, pid, platform…): recorded, not interpreted. */
  runtime: z.record(z.string().max(64), z.union([z.string().max(512), z.number(), z.boolean()])).optional(),
  iat: z.number(),
});

export type Manifest = z.infer<typeof manifestSchema>;

export interface VerifiedManifest {
  manifest: Manifest;
  jkt: string;
  publicJwk: { kty: 'OKP'; crv: 'Ed25519'; x: string };
}

const invalid = (message: string) => new MandateError('ERR_MANIFEST_INVALID', `manifest ${message}`);

export function verifyManifest(jws: unknown, now: Date): VerifiedManifest {
  const parsed = parseCompact(jws, MAX_MANIFEST_LENGTH);
  if (!parsed.ok) throw invalid(`is malformed: ${parsed.detail}`);
  const { header, signingInput, payload, signature } = parsed.jws;
  if (header.typ !== TYP.attestation) throw invalid(`typ must be ${TYP.attestation}`);
  if (header.alg !== 'EdDSA') throw invalid('alg must be EdDSA (an Ed25519 instance key)');
  if (header.crit !== undefined) throw invalid('has critical extensions');
  const key = importProofKey('EdDSA', header.jwk);
  if (typeof key === 'string') throw invalid(key);
  if (!verifyProofSignature('EdDSA', key.key, signingInput, signature)) {
    throw new MandateError('ERR_MANIFEST_SIGNATURE', 'manifest signature does not verify with its key');
  }
  const body = parseJsonObject(payload);
  if (!body.ok) throw invalid('payload is not a JSON object with unique members');
  const manifest = parseOrThrow(manifestSchema, body.value, 'manifest');
  const age = now.getTime() / 1000 - manifest.iat;
  if (age > MANIFEST_MAX_AGE_SECONDS || age < -30) throw invalid('iat is not within the last 5 minutes');
  const { x } = header.jwk as { x: string };
  return { manifest, jkt: key.jkt, publicJwk: { kty: 'OKP', crv: 'Ed25519', x } };
}
