import crypto from 'node:crypto';
import { jwkThumbprint } from '../jose/jwk-thumbprint.ts';
import { createDpopProof, type DpopKeyPair, generateDpopKeyPair } from './dpop.ts';
import { type ManifestClaims, signManifest } from './manifest.ts';

/**
 * What an agent runtime imports to act through Mandate: it generates its own key (the private
 * part never leaves the process), attests, exchanges a person's token for a mandate with DPoP,
 * signs a fresh proof for every call, and delegates to sub-agents.
 */
export interface Mandate {
  token: string;
  scope: string;
  expiresAt: Date;
}

export interface SavedInstance {
  base_url: string;
  instance_id: string;
  spiffe_id: string;
  /** PKCS#8 DER, base64: the instance's private key. */
  private_key: string;
}

export interface MandateRequest {
  subjectToken: string;
  scope: string;
  resource: string | string[];
  task?: { id?: string; description?: string; budget?: number };
  /**
   * Record constraints (RFC 9396 `mandate_record`): per argument name, the allowed values or a
   * `{ min, max }` range; `required` fields must be in every call. A sub-agent may only narrow its parent's.
   */
  records?: { fields: Record<string, Array<string | number> | { min?: number; max?: number }>; required?: string[] };
}

export class MandateRequestError extends Error {
  readonly status: number;
  readonly error: string;
  constructor(status: number, error: string, description: string | undefined) {
    super(description ? `${error}: ${description}` : error);
    this.name = 'MandateRequestError';
    this.status = status;
    this.error = error;
  }
}

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const JWT = 'urn:ietf:params:oauth:token-type:jwt';

export class AgentRuntime {
  readonly baseUrl: string;
  readonly key: DpopKeyPair;
  readonly instanceId: string;
  readonly spiffeId: string;
  #identityToken: string;
  #identityExpires: number;
  /** The latest `DPoP-Nonce` each server (by origin) sent (RFC 9449 §8, §9). */
  readonly #nonces = new Map<string, string>();

  private constructor(baseUrl: string, key: DpopKeyPair, attested: { instance_id: string; spiffe_id: string; identity_token: string; expires_in: number }) {
    this.baseUrl = baseUrl;
    this.key = key;
    this.instanceId = attested.instance_id;
    this.spiffeId = attested.spiffe_id;
    this.#identityToken = attested.identity_token;
    this.#identityExpires = Date.now() + attested.expires_in * 1000;
  }

  /** Generate a key, sign the manifest, and attest as a new instance of the agent. */
  static async bootstrap(baseUrl: string, manifest: ManifestClaims, key: DpopKeyPair = generateDpopKeyPair()): Promise<AgentRuntime> {
    const base = baseUrl.replace(/\/+$/, '');
    const attested = await request(`${base}/v1/instances`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ manifest: signManifest(manifest, key) }),
    });
    return new AgentRuntime(base, key, attested as never);
  }

  /** What a runtime saves to come back as the same instance after a restart (keep it 0600: it holds the private key). */
  export(): SavedInstance {
    return {
      base_url: this.baseUrl,
      instance_id: this.instanceId,
      spiffe_id: this.spiffeId,
      private_key: this.key.privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    };
  }

  /** The same instance again, from `export()`: its identity token is renewed with the key on first use. */
  static restore(saved: SavedInstance): AgentRuntime {
    const privateKey = crypto.createPrivateKey({ key: Buffer.from(saved.private_key, 'base64'), format: 'der', type: 'pkcs8' });
    const { x } = crypto.createPublicKey(privateKey).export({ format: 'jwk' });
    const publicJwk = { kty: 'OKP' as const, crv: 'Ed25519' as const, x: x! };
    const key: DpopKeyPair = { privateKey, publicJwk, jkt: jwkThumbprint(publicJwk) };
    return new AgentRuntime(saved.base_url, key, { instance_id: saved.instance_id, spiffe_id: saved.spiffe_id, identity_token: '', expires_in: 0 });
  }

  /** The identity token, renewed by proving possession of the key when it nears expiry. */
  async identityToken(): Promise<string> {
    if (Date.now() > this.#identityExpires - 60_000) {
      const url = `${this.baseUrl}/v1/instances/${this.instanceId}/token`;
      const renewed = (await request(url, { method: 'POST', headers: { dpop: this.proof('POST', url) } })) as { identity_token: string; expires_in: number };
      this.#identityToken = renewed.identity_token;
      this.#identityExpires = Date.now() + renewed.expires_in * 1000;
    }
    return this.#identityToken;
  }

  /**
   * A fresh DPoP proof for one request (with `ath` when a mandate goes with it, and the nonce the
   * server last sent, when it sent one).
   */
  proof(htm: string, htu: string, accessToken?: string): string {
    const nonce = this.#nonces.get(new URL(htu).origin);
    return createDpopProof({ privateKey: this.key.privateKey, publicJwk: this.key.publicJwk, htm, htu, ...(accessToken ? { accessToken } : {}), ...(nonce ? { nonce } : {}) });
  }

  /** Keeps the server's nonce; true when the response asks to retry with it (RFC 9449 §8, §9). */
  #noted(url: string, response: Response, error: string | undefined): boolean {
    const nonce = response.headers.get('dpop-nonce');
    if (nonce) this.#nonces.set(new URL(url).origin, nonce);
    const challenge = response.status === 401 && /error="use_dpop_nonce"/.test(response.headers.get('www-authenticate') ?? '');
    return !!nonce && (error === 'use_dpop_nonce' || challenge);
  }

  /** One request with a fresh proof, sent again once with a new proof when the server asks for its nonce. */
  async #withProof(url: string, init: (proof: string) => RequestInit, htm: string, accessToken?: string): Promise<unknown> {
    for (let attempt = 0; ; attempt++) {
      const response = await fetch(url, init(this.proof(htm, url, accessToken)));
      const text = await response.text();
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      if (this.#noted(url, response, typeof body.error === 'string' ? body.error : undefined) && attempt === 0) continue;
      if (!response.ok) {
        const error = String(body.error ?? body.code ?? `HTTP ${response.status}`);
        throw new MandateRequestError(response.status, error, (body.error_description ?? body.detail) as string | undefined);
      }
      return body;
    }
  }

  /**
   * RFC 8693 token exchange: `subjectToken` is a person's token, or a parent agent's mandate
   * when this runtime is a sub-agent; `resource` is the enforcement point (RFC 8707). Refused
   * because the key that signed the identity token was withdrawn (it is gone from the JWKS), the
   * runtime renews its identity token with its own key and asks once more.
   */
  async obtainMandate(input: MandateRequest): Promise<Mandate> {
    try {
      return await this.#exchange(input);
    } catch (error) {
      // After a signing key is withdrawn, the identity token it signed is refused: renew it once.
      if (!(error instanceof MandateRequestError) || error.error !== 'invalid_request' || !(await this.#identityKeyWithdrawn())) throw error;
      this.#identityExpires = 0;
      return this.#exchange(input);
    }
  }

  /** Whether the key that signed the identity token is gone from the server's JWKS. */
  async #identityKeyWithdrawn(): Promise<boolean> {
    if (!this.#identityToken) return false;
    try {
      const { kid } = JSON.parse(Buffer.from(this.#identityToken.split('.')[0]!, 'base64url').toString()) as { kid?: unknown };
      const jwks = (await (await fetch(`${this.baseUrl}/.well-known/jwks.json`)).json()) as { keys?: Array<{ kid?: unknown }> };
      return Array.isArray(jwks.keys) && !jwks.keys.some((key) => key.kid === kid);
    } catch {
      return false;
    }
  }

  async #exchange(input: MandateRequest): Promise<Mandate> {
    const url = `${this.baseUrl}/oauth/token`;
    const form = new URLSearchParams({
      grant_type: EXCHANGE,
      subject_token: input.subjectToken,
      subject_token_type: JWT,
      actor_token: await this.identityToken(),
      actor_token_type: JWT,
      scope: input.scope,
    });
    for (const resource of [input.resource].flat()) form.append('resource', resource);
    const details: object[] = [];
    if (input.task) {
      const { id, description, budget } = input.task;
      details.push({ type: 'mandate_task', ...(id ? { task_id: id } : {}), ...(description ? { description } : {}), ...(budget !== undefined ? { budget } : {}) });
    }
    if (input.records) details.push({ type: 'mandate_record', ...input.records });
    if (details.length > 0) form.set('authorization_details', JSON.stringify(details));
    const body = (await this.#withProof(url, (dpop) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', dpop }, body: form }), 'POST')) as {
      access_token: string;
      scope: string;
      expires_in: number;
    };
    return { token: body.access_token, scope: body.scope, expiresAt: new Date(Date.now() + body.expires_in * 1000) };
  }

  /**
   * A `fetch` that sends the mandate as `Authorization: DPoP` with a fresh proof per request, and
   * sends a request once more with a new proof when the enforcement point asks for its nonce
   * (a streamed body cannot be sent twice: that answer is returned as it is).
   */
  fetchWith(mandate: Mandate): typeof fetch {
    return async (input, init = {}) => {
      const url = input instanceof Request ? input.url : String(input);
      const method = (init.method ?? (input instanceof Request ? input.method : 'GET')).toUpperCase();
      const send = () => {
        const headers = new Headers(init.headers);
        headers.set('authorization', `DPoP ${mandate.token}`);
        headers.set('dpop', this.proof(method, url, mandate.token));
        return fetch(input, { ...init, headers });
      };
      const response = await send();
      const replayable = !(input instanceof Request) && !(init.body instanceof ReadableStream);
      if (!this.#noted(url, response, undefined) || !replayable) return response;
      await response.body?.cancel();
      return send();
    };
  }
}

async function request(url: string, init: RequestInit): Promise<unknown> {
  const response = await fetch(url, init);
  const text = await response.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (!response.ok) {
    const error = String(body.error ?? body.code ?? `HTTP ${response.status}`);
    throw new MandateRequestError(response.status, error, (body.error_description ?? body.detail) as string | undefined);
  }
  return body;
}
