// OpenID Connect Core 1.0 §3.1 (authorization code flow) with RFC 7636 (PKCE) — operator single
// sign-on. openid-client does the protocol: discovery, the authorization request, the code
// exchange and every ID token check (§3.1.3.7: issuer, audience, signature, lifetime, nonce).
import crypto from 'node:crypto';
import * as oidc from 'openid-client';
import { MandateError } from '../errors.ts';
import { type LoginStateRow, loginStatesRepository } from '../store/repositories/login-states.ts';
import type { Queryable } from '../store/store.ts';
import { grantsForGroups, type RoleMap } from './role-map.ts';
import type { RoleGrant } from './roles.ts';

export interface SsoSettings {
  issuer: URL;
  clientId: string;
  clientSecret?: string | undefined;
  /** The redirect URI registered at the provider: `<base>/v1/login/callback`. */
  redirectUri: string;
  roleMap: RoleMap;
  groupsClaim: string;
}

/** Who signed in, and the roles their groups give them. */
export interface SsoIdentity {
  subject: string;
  email: string;
  name: string;
  groups: string[];
  grants: RoleGrant[];
}

/** How long a login may take between `GET /v1/login` and its callback. */
export const LOGIN_STATE_TTL_MS = 10 * 60_000;
const IDP_TIMEOUT_S = 5;

const stateHash = (state: string) => crypto.createHash('sha256').update(state).digest('hex');

/**
 * A login may hand its session only to a listener on this machine (RFC 8252 §7.3: loopback
 * redirection), so a crafted link cannot send an operator's session elsewhere.
 */
export function checkReturnTo(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  const loopback = url && url.protocol === 'http:' && ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname) && url.port !== '' && !url.username && !url.password && !url.hash;
  if (!url || !loopback) throw new MandateError('ERR_LOGIN_RETURN_TO', 'return_to must be http://127.0.0.1:<port>/… (a loopback listener)');
  return url.href;
}

/** Device logins share the login table; their `nonce` column holds this mark and the poll interval. */
const DEVICE_MARK = 'device:';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** What a device login shows the person signing in, and the handle its poller keeps. */
export interface DeviceLogin {
  handle: string;
  user_code: string;
  verification_uri: string;
  verification_uri_complete: string | null;
  interval: number;
  expires_in: number;
}

/** The device code, encrypted (AES-256-GCM) under a key only the poll handle gives. */
const handleKey = (handle: string) => crypto.createHash('sha256').update(`mandate device code\0${handle}`).digest();
function seal(handle: string, deviceCode: string): string {
  const iv = crypto.randomBytes(12);
  const cipher = crypto.createCipheriv('aes-256-gcm', handleKey(handle), iv);
  const sealed = Buffer.concat([cipher.update(deviceCode, 'utf8'), cipher.final()]);
  return [iv, cipher.getAuthTag(), sealed].map((b) => b.toString('base64url')).join('.');
}
function open(handle: string, value: string): string {
  const [iv, tag, sealed] = value.split('.').map((part) => Buffer.from(part, 'base64url'));
  const decipher = crypto.createDecipheriv('aes-256-gcm', handleKey(handle), iv!);
  decipher.setAuthTag(tag!);
  return Buffer.concat([decipher.update(sealed!), decipher.final()]).toString('utf8');
}

const isLoopback = (url: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

export class OperatorSso {
  #discovered: Promise<oidc.Configuration> | undefined;
  readonly #settings: SsoSettings;

  constructor(settings: SsoSettings) {
    this.#settings = settings;
  }

  /** Begin a login: remember its state, nonce and PKCE verifier; the provider's URL to go to. */
  async begin(db: Queryable, returnTo: string | null, now: Date): Promise<URL> {
    const config = await this.#configuration();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const verifier = oidc.randomPKCECodeVerifier();
    const logins = loginStatesRepository(db);
    await logins.purge(now);
    await logins.insert({
      state_hash: stateHash(state),
      nonce,
      code_verifier: verifier,
      return_to: returnTo,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + LOGIN_STATE_TTL_MS).toISOString(),
    });
    return oidc.buildAuthorizationUrl(config, {
      redirect_uri: this.#settings.redirectUri,
      scope: 'openid email profile',
      state,
      nonce,
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
    });
  }

  /**
   * The login a callback's `state` names, taken so it cannot be used twice; refused when unknown,
   * used already, or expired.
   */
  async takeLogin(db: Queryable, state: string | null, now: Date): Promise<LoginStateRow> {
    const login = state ? await loginStatesRepository(db).take(stateHash(state)) : undefined;
    if (!state || !login || login.nonce.startsWith(DEVICE_MARK) || login.expires_at <= now.toISOString()) {
      throw new MandateError('ERR_LOGIN_STATE_INVALID', 'this login is unknown, expired, or finished already; start again');
    }
    return login;
  }

  /**
   * Finish a login from the provider's redirect to the callback: the code is exchanged with the
   * login's PKCE verifier, and the ID token must be for this client, from this issuer, with the
   * login's nonce; the groups must map to at least one role.
   */
  async complete(login: LoginStateRow, callback: URL): Promise<SsoIdentity> {
    const state = callback.searchParams.get('state') ?? '';
    const config = await this.#configuration();
    let tokens: Awaited<ReturnType<typeof oidc.authorizationCodeGrant>>;
    try {
      const current = new URL(this.#settings.redirectUri);
      current.search = callback.search;
      tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: login.code_verifier,
        expectedState: state,
        expectedNonce: login.nonce,
        idTokenExpected: true,
      });
    } catch (error) {
      throw failure(error);
    }
    return this.#identity(config, tokens);
  }

  /**
   * Begin a device login (RFC 8628 §3.1–3.2) where the provider offers one. The device code stays
   * here, encrypted under the poll handle, which is stored only as its hash: the caller gets the
   * handle once, and the user code and URL to show the person signing in.
   */
  async beginDevice(db: Queryable, now: Date): Promise<DeviceLogin> {
    const config = await this.#configuration();
    if (!config.serverMetadata().device_authorization_endpoint) {
      throw new MandateError('ERR_DEVICE_FLOW_UNSUPPORTED', "the identity provider offers no device authorization endpoint; use `mandate login` without --device");
    }
    let started: oidc.DeviceAuthorizationResponse;
    try {
      started = await oidc.initiateDeviceAuthorization(config, { scope: 'openid email profile' });
    } catch (error) {
      throw failure(error);
    }
    const handle = crypto.randomBytes(32).toString('base64url');
    const interval = started.interval ?? 5;
    const expiresIn = Math.min(started.expires_in, LOGIN_STATE_TTL_MS / 1000);
    const logins = loginStatesRepository(db);
    await logins.purge(now);
    await logins.insert({
      state_hash: stateHash(handle),
      nonce: `${DEVICE_MARK}${interval}`,
      code_verifier: seal(handle, started.device_code),
      return_to: null,
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + expiresIn * 1000).toISOString(),
    });
    return {
      handle,
      user_code: started.user_code,
      verification_uri: started.verification_uri,
      verification_uri_complete: started.verification_uri_complete ?? null,
      interval,
      expires_in: expiresIn,
    };
  }

  /**
   * One token request for a device login (RFC 8628 §3.4–3.5): `pending` (with the interval to
   * wait, longer after `slow_down`) while the person has not finished, the identity once they have
   * (checked as a callback's is), a refusal when they denied it or the code expired.
   */
  async pollDevice(db: Queryable, handle: string, now: Date): Promise<{ pending: true; interval: number } | { pending: false; identity: SsoIdentity }> {
    const logins = loginStatesRepository(db);
    const login = handle ? await logins.take(stateHash(handle)) : undefined;
    if (!login || !login.nonce.startsWith(DEVICE_MARK)) {
      throw new MandateError('ERR_LOGIN_STATE_INVALID', 'this device login is unknown or finished already; start again');
    }
    if (login.expires_at <= now.toISOString()) throw new MandateError('ERR_DEVICE_CODE_EXPIRED', 'the device code expired before the sign-in finished; start again');
    const config = await this.#configuration();
    let tokens: Awaited<ReturnType<typeof oidc.genericGrantRequest>>;
    try {
      tokens = await oidc.genericGrantRequest(config, DEVICE_GRANT, { device_code: open(handle, login.code_verifier) });
    } catch (error) {
      if (error instanceof oidc.ResponseBodyError && (error.error === 'authorization_pending' || error.error === 'slow_down')) {
        const interval = Number(login.nonce.slice(DEVICE_MARK.length)) + (error.error === 'slow_down' ? 5 : 0);
        await logins.insert({ ...login, nonce: `${DEVICE_MARK}${interval}` });
        return { pending: true, interval };
      }
      if (error instanceof oidc.ResponseBodyError && error.error === 'expired_token') {
        throw new MandateError('ERR_DEVICE_CODE_EXPIRED', 'the device code expired before the sign-in finished; start again');
      }
      const refusal = failure(error);
      // A provider that is down now may answer the next poll: the login stays.
      if (refusal.code === 'ERR_IDP_UNAVAILABLE') await logins.insert(login);
      throw refusal;
    }
    return { pending: false, identity: await this.#identity(config, tokens) };
  }

  /** The signed-in person from a validated token response: email, groups, and the roles they map to. */
  async #identity(config: oidc.Configuration, tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers): Promise<SsoIdentity> {
    const claims = tokens.claims();
    if (!claims) throw new MandateError('ERR_LOGIN_ID_TOKEN_INVALID', 'the identity provider answered no ID token; nobody was signed in');
    let profile: Record<string, unknown> = claims;
    if (claims[this.#settings.groupsClaim] === undefined || claims.email === undefined) {
      try {
        profile = { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)), ...claims };
      } catch (error) {
        throw failure(error);
      }
    }
    const groups = stringList(profile[this.#settings.groupsClaim]);
    const email = typeof profile.email === 'string' ? profile.email : '';
    const name = typeof profile.name === 'string' && profile.name ? profile.name : email || claims.sub;
    if (!email) throw new MandateError('ERR_LOGIN_FAILED', 'the identity provider named no email for this account; nothing was granted');
    const grants = grantsForGroups(this.#settings.roleMap, groups);
    if (grants.length === 0) {
      throw new MandateError('ERR_LOGIN_NO_ROLE', `${email} is in no group mapped to a Mandate role (groups: ${groups.join(', ') || 'none'})`);
    }
    return { subject: claims.sub, email, name, groups, grants };
  }

  /** Discovery once, retried on the next login when the provider could not be reached. */
  #configuration(): Promise<oidc.Configuration> {
    this.#discovered ??= this.#discover().catch((error: unknown) => {
      this.#discovered = undefined;
      throw error;
    });
    return this.#discovered;
  }

  async #discover(): Promise<oidc.Configuration> {
    const { issuer, clientId, clientSecret } = this.#settings;
    try {
      const config = await oidc.discovery(
        issuer,
        clientId,
        clientSecret,
        clientSecret ? oidc.ClientSecretBasic(clientSecret) : oidc.None(),
        { timeout: IDP_TIMEOUT_S, ...(isLoopback(issuer) ? { execute: [oidc.allowInsecureRequests] } : {}) },
      );
      config.timeout = IDP_TIMEOUT_S;
      // Check the ID token's signature against the provider's JWKS too, not TLS alone (§3.1.3.7 6).
      oidc.enableNonRepudiationChecks(config);
      return config;
    } catch (error) {
      // Whatever discovery met (no answer, 5xx, a 404 for a wrong issuer URL, an issuer that
      // names another), there is no provider to sign in with.
      const reason = error instanceof oidc.ClientError ? `: ${error.message}` : ' could not be reached';
      throw unavailable(`the identity provider's discovery failed${reason}`);
    }
  }
}

const stringList = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : []);

/** A provider's failure as a catalogued error; its message names the check, never a token. */
function failure(error: unknown): MandateError {
  if (error instanceof MandateError) return error;
  if (error instanceof oidc.AuthorizationResponseError) {
    return new MandateError('ERR_LOGIN_FAILED', `the identity provider answered ${error.error}`);
  }
  if (error instanceof oidc.ResponseBodyError) {
    if (error.status >= 500) return unavailable(`the identity provider answered HTTP ${error.status}`);
    return new MandateError('ERR_LOGIN_FAILED', `the identity provider refused the code: ${error.error}`);
  }
  if (error instanceof oidc.ClientError) {
    const status = (error.cause as { status?: number } | undefined)?.status;
    if (error.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' && (status === undefined || status >= 500)) {
      return unavailable('the identity provider did not answer as expected');
    }
    // The claim that failed (`aud`, `nonce`, `iss`, `exp`): openid-client names it in the cause of its cause.
    const cause = error.cause as { claim?: unknown; cause?: { claim?: unknown } } | undefined;
    const claim = cause?.cause?.claim ?? cause?.claim;
    return new MandateError('ERR_LOGIN_ID_TOKEN_INVALID', `the ID token was refused: ${error.message}${typeof claim === 'string' ? ` (claim ${claim})` : ''}`);
  }
  // fetch failed (refused, reset, DNS) or timed out.
  return unavailable('the identity provider could not be reached');
}

/** The provider being down is no secret: the message is shown, and says nothing of the request. */
const unavailable = (message: string) => new MandateError('ERR_IDP_UNAVAILABLE', message, { expose: true });
