import crypto from 'node:crypto';
import { type ErrorCode, MandateError } from '../errors.ts';
import type { AgentCard } from '../registry/agent-card.ts';
import type { Manifest } from './manifest.ts';

/** SHA-256 of a toolset manifest: its scope items, sorted, one per line. */
export function toolsetHash(toolset: readonly string[]): string {
  return `sha256:${crypto
    .createHash('sha256')
    .update([...toolset].sort().join('\n'))
    .digest('hex')}`;
}

const refuse = (code: Extract<ErrorCode, `ERR_ATTESTATION_${string}`>, message: string) => new MandateError(code, message);

/**
 * The manifest must match the agent card, claim by claim; the first mismatch is refused with
 * the claim's name. An agent without allowed code hashes may attest only in dev.
 */
export function checkManifestAgainstCard(manifest: Manifest, card: AgentCard): void {
  if (card.status !== 'active') throw refuse('ERR_ATTESTATION_AGENT', `agent ${card.id} is ${card.status}`);
  if (manifest.environment !== card.environment) {
    throw refuse('ERR_ATTESTATION_ENVIRONMENT', `environment ${manifest.environment} does not match the card (${card.environment})`);
  }
  if (card.code_hashes.length > 0 ? !card.code_hashes.includes(manifest.code_hash) : card.environment !== 'dev') {
    throw refuse('ERR_ATTESTATION_CODE_HASH', `code hash ${manifest.code_hash} is not allowed for agent ${card.id}`);
  }
  if (card.model && manifest.model !== card.model) {
    throw refuse('ERR_ATTESTATION_MODEL', `model ${manifest.model ?? '(none)'} does not match the card (${card.model})`);
  }
  if (card.version && manifest.version !== card.version) {
    throw refuse('ERR_ATTESTATION_VERSION', `version ${manifest.version ?? '(none)'} does not match the card (${card.version})`);
  }
  if (manifest.toolset_hash !== undefined && manifest.toolset_hash !== toolsetHash(card.toolset)) {
    throw refuse('ERR_ATTESTATION_TOOLSET_HASH', 'toolset hash does not match the card toolset');
  }
  if (card.config_hashes.length > 0 && (!manifest.config_hash || !card.config_hashes.includes(manifest.config_hash))) {
    throw refuse('ERR_ATTESTATION_CONFIG_HASH', `config hash ${manifest.config_hash ?? '(none)'} is not allowed for agent ${card.id}`);
  }
}
