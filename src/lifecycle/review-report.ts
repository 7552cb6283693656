// RFC 8032 (Ed25519) over RFC 8785 (JCS): the signed outcome of an access review campaign
import { sign, verify } from 'node:crypto';
import { z } from 'zod';
import type { CheckpointKey } from '../audit/checkpoint-key.ts';
import { canonicalize } from '../audit/jcs.ts';
import { parseVerifierKey } from '../audit/note.ts';
import { MandateError } from '../errors.ts';
import type { Campaign, ReviewItem } from './reviews.ts';

export const REPORT_TYPE = 'mandate.access-review.v1';

/**
 * The report is signed with the audit checkpoint key (derived from the master key, published as
 * a verifier key at `GET /v1/audit/checkpoints`): whoever trusts the trail's checkpoints can
 * check a review's outcome offline with the same key, and nobody can edit one without breaking
 * the signature over its canonical (JCS) form.
 */
export interface ReviewReport {
  type: typeof REPORT_TYPE;
  trust_domain: string;
  campaign: Omit<Campaign, 'items' | 'counts'> & { closed_by: string | null };
  summary: Record<string, number>;
  items: ReviewItem[];
  generated_at: string;
}

export interface SignedReviewReport {
  report: ReviewReport;
  signature: { alg: 'Ed25519'; vkey: string; value: string };
}

const signedSchema = z.object({
  report: z.looseObject({ type: z.literal(REPORT_TYPE), trust_domain: z.string(), campaign: z.looseObject({ id: z.string() }), summary: z.record(z.string(), z.number()), items: z.array(z.looseObject({ agent: z.string(), status: z.string() })), generated_at: z.string() }),
  signature: z.strictObject({ alg: z.literal('Ed25519'), vkey: z.string().max(1000), value: z.string().max(200) }),
});

export function signReviewReport(campaign: Campaign, items: ReviewItem[], o: { closedBy: string | null; trustDomain: string; key: CheckpointKey; now: Date }): SignedReviewReport {
  const { items: _i, counts, ...rest } = campaign;
  const report: ReviewReport = { type: REPORT_TYPE, trust_domain: o.trustDomain, campaign: { ...rest, closed_by: o.closedBy }, summary: counts, items, generated_at: o.now.toISOString() };
  const value = sign(null, Buffer.from(canonicalize(report)), o.key.signer.privateKey).toString('base64');
  return { report, signature: { alg: 'Ed25519', vkey: o.key.vkey, value } };
}

export interface VerifiedReport {
  campaign: string;
  /** The key's name (`<trust domain>/audit`) and whether it is the one the caller trusts. */
  signer: string;
  pinned: boolean;
  summary: Record<string, number>;
}

const invalid = (why: string) => new MandateError('ERR_REVIEW_REPORT_INVALID', why);

/**
 * Check a signed report: its shape, its summary against its items, and its Ed25519 signature over
 * the JCS of the report; with `trustedVkey` the signing key must be that one.
 */
export function verifyReviewReport(input: unknown, trustedVkey?: string): VerifiedReport {
  const parsed = signedSchema.safeParse(input);
  if (!parsed.success) throw invalid(`not a signed access review report: ${parsed.error.issues[0]?.path.join('.') || '(document)'} ${parsed.error.issues[0]?.message ?? ''}`.trim());
  const { report, signature } = parsed.data;
  if (trustedVkey !== undefined && trustedVkey.trim() !== signature.vkey) throw invalid('the report is signed by a key other than the trusted one');
  let verifier;
  try {
    verifier = parseVerifierKey(signature.vkey);
  } catch {
    throw invalid('the verifier key in the report is malformed');
  }
  // The signed bytes are the JCS of the report as received, every member included.
  const ok = verify(null, Buffer.from(canonicalize((input as { report: unknown }).report)), verifier.publicKey, Buffer.from(signature.value, 'base64'));
  if (!ok) throw invalid('the signature does not verify: the report was changed after it was signed, or signed by another key');
  const counted: Record<string, number> = { items: report.items.length };
  for (const item of report.items) counted[item.status] = (counted[item.status] ?? 0) + 1;
  if (canonicalize(counted) !== canonicalize(report.summary)) throw invalid('the summary does not match the items');
  return { campaign: report.campaign.id, signer: verifier.name, pinned: trustedVkey !== undefined, summary: report.summary };
}
