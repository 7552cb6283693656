/**
 * Every kind of JWT Mandate signs has its own `typ` (RFC 8725 §3.11), so none can pass as
 * another: a mandate is never accepted as an identity token, a DPoP proof, or a person token.
 */
export const TYP = {
  /** Mandates: RFC 9068 JWT access tokens. */
  mandate: 'at+jwt',
  /** Instance identity tokens (JWT-SVID claims, sender-constrained by `cnf.jkt`). */
  identity: 'identity+jwt',
  /** Person tokens from the built-in development issuer. */
  person: 'person+jwt',
  /** Instance manifests, self-signed by the instance key at attestation. */
  attestation: 'attestation+jwt',
} as const;

/** RFC 8693 §3 token type identifiers. */
export const TOKEN_TYPE = {
  accessToken: 'urn:ietf:params:oauth:token-type:access_token',
  jwt: 'urn:ietf:params:oauth:token-type:jwt',
  idToken: 'urn:ietf:params:oauth:token-type:id_token',
} as const;

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';

/** Longest lifetime of an instance identity token. */
export const IDENTITY_TOKEN_SECONDS = 3600;
/** Default mandate lifetime when the request and card say nothing shorter. */
export const DEFAULT_MANDATE_SECONDS = 600;
export const DEFAULT_DELEGATION_DEPTH = 3;
