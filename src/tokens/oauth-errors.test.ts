import { describe, expect, it } from 'vitest';
import { type ErrorCode, MandateError } from '../errors.ts';
import { toOAuthError } from './oauth-errors.ts';

const error = (code: ErrorCode, message = 'm') => new MandateError(code, message);
/** A thrown value that looks like a MandateError but carries a code outside the catalogue. */
const foreign = (code: string, status: number, message = 'm') => Object.assign(new Error(message), { code, status, expose: status < 500 });

describe('OAuth wire errors', () => {
  it('answers DPoP failures with invalid_dpop_proof and a missing nonce with use_dpop_nonce', () => {
    expect(toOAuthError(error('ERR_DPOP_REPLAY'), 'token_endpoint')).toEqual({
      status: 400,
      body: { error: 'invalid_dpop_proof', error_description: 'm' },
    });
    expect(toOAuthError(error('ERR_DPOP_NONCE'), 'token_endpoint').body.error).toBe('use_dpop_nonce');
    expect(toOAuthError(error('ERR_DPOP_NONCE'), 'resource').status).toBe(401);
  });

  it('answers an invalid subject or actor token with invalid_request at the token endpoint (RFC 8693 §2.2.2)', () => {
    expect(toOAuthError(error('ERR_TOKEN_EXPIRED'), 'token_endpoint')).toMatchObject({
      status: 400,
      body: { error: 'invalid_request' },
    });
    expect(toOAuthError(error('ERR_TOKEN_EXPIRED'), 'resource')).toMatchObject({ status: 401, body: { error: 'invalid_token' } });
  });

  it('answers every policy refusal of a token exchange with invalid_request, never invalid_grant (RFC 8693 §2.2.2)', () => {
    for (const code of ['ERR_GRANT_INVALID', 'ERR_ACTOR_REVOKED', 'ERR_DELEGATION_NOT_ALLOWED', 'ERR_DELEGATION_DEPTH', 'ERR_BUDGET_EXCEEDS_PARENT', 'ERR_SUBJECT_INVALID'] as const) {
      expect(toOAuthError(error(code), 'token_endpoint'), code).toMatchObject({ status: 400, body: { error: 'invalid_request' } });
    }
    expect(toOAuthError(error('ERR_TARGET_INVALID'), 'token_endpoint').body.error).toBe('invalid_target');
  });

  it('answers scope errors with invalid_scope, or insufficient_scope at a resource', () => {
    expect(toOAuthError(error('ERR_SCOPE_INVALID'), 'token_endpoint').body.error).toBe('invalid_scope');
    expect(toOAuthError(error('ERR_SCOPE_EXCEEDS_PARENT'), 'resource')).toMatchObject({ status: 403, body: { error: 'insufficient_scope' } });
  });

  it('keeps error_description inside the RFC 6749 character set', () => {
    const description = toOAuthError(error('ERR_TOKEN_MALFORMED', 'claim "exp" \\ é'), 'resource').body.error_description;
    expect(description).toBe("claim 'exp' ' ?");
  });

  it('hides internal errors and unknown throwables behind server_error', () => {
    expect(toOAuthError(foreign('ERR_STORE', 500, 'db password wrong'), 'token_endpoint')).toEqual({ status: 500, body: { error: 'server_error' } });
    expect(toOAuthError(new Error('boom'), 'resource')).toEqual({ status: 500, body: { error: 'server_error' } });
    expect(toOAuthError(foreign('constructor', 400), 'resource').body.error).toBe('invalid_request');
  });
});
