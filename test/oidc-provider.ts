import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Configuration } from 'oidc-provider';

/**
 * A real OpenID provider (panva's oidc-provider) on loopback, for single sign-on tests: clients
 * registered for Mandate (and for another application), accounts with groups, and its development
 * login and consent forms, which `signIn` fills in like a browser would.
 */
export interface TestAccount {
  email: string;
  name: string;
  groups: string[];
}

export interface TestProvider {
  issuer: string;
  provider: Provider;
  /** Answer the next token request 503, as a provider that is down would. */
  failNextToken(): void;
  /** Replace the next ID token the token endpoint answers Mandate's client with (tests of a foreign token). */
  swapNextIdToken(idToken: string): void;
  close(): Promise<void>;
}

export const MANDATE_CLIENT = { client_id: 'mandate', client_secret: 'mandate-client-secret-for-tests-only' };
export const OTHER_CLIENT = { client_id: 'other-app', client_secret: 'other-client-secret-for-tests-only', redirect_uri: 'http://127.0.0.1:9/cb' };

/** The provider's address comes first (Mandate is configured with it); the provider itself once Mandate's redirect URI is known. */
export async function providerAddress(): Promise<{ server: http.Server; issuer: string }> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, issuer: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

export function startTestProvider(
  { server, issuer }: { server: http.Server; issuer: string },
  accounts: Record<string, TestAccount>,
  redirectUris: string[],
  options: { deviceFlow?: boolean } = {},
): TestProvider {
  const deviceFlow = options.deviceFlow ?? true;
  const configuration: Configuration = {
    clients: [
      { ...MANDATE_CLIENT, redirect_uris: redirectUris, grant_types: ['authorization_code', ...(deviceFlow ? ['urn:ietf:params:oauth:grant-type:device_code'] : [])], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' },
      { ...OTHER_CLIENT, redirect_uris: [OTHER_CLIENT.redirect_uri], grant_types: ['authorization_code'], response_types: ['code'], token_endpoint_auth_method: 'client_secret_basic' },
    ],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'groups'] },
    features: { devInteractions: { enabled: true }, deviceFlow: { enabled: deviceFlow } },
    cookies: { keys: ['cookie-key-for-tests-only'] },
    pkce: { required: () => true },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
    findAccount: (_ctx, id) => {
      const account = accounts[id];
      if (!account) return undefined;
      return { accountId: id, claims: () => ({ sub: id, email: account.email, email_verified: true, name: account.name, groups: account.groups }) };
    },
  };
  const provider = new Provider(issuer, configuration);
  let swap: string | undefined;
  let down = false;
  provider.use(async (ctx, next) => {
    if (down && ctx.path === '/token') {
      down = false;
      ctx.status = 503;
      ctx.body = { error: 'temporarily_unavailable' };
      return;
    }
    await next();
    if (swap && ctx.path === '/token' && ctx.status === 200) {
      ctx.body = { ...(ctx.body as object), id_token: swap };
      swap = undefined;
    }
  });
  server.on('request', provider.callback());
  return {
    issuer,
    provider,
    failNextToken: () => {
      down = true;
    },
    swapNextIdToken: (idToken) => {
      swap = idToken;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A browser's cookie jar over fetch: each visit sends the cookies set so far and keeps new ones; redirects are not followed. */
function browser(): (url: string, form?: URLSearchParams) => Promise<Response> {
  const cookies = new Map<string, string>();
  return async (url, form) => {
    const response = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: form } : {}),
    });
    for (const line of response.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const at = pair!.indexOf('=');
      cookies.set(pair!.slice(0, at), pair!.slice(at + 1));
    }
    return response;
  };
}

/**
 * Go where a browser would from `start`, following redirects by hand with a cookie jar and
 * submitting the provider's login form as `account` and its consent form, until a redirect
 * leaves for `stopAt`; that redirect's URL.
 */
export async function signIn(start: string, account: string, stopAt: string): Promise<URL> {
  const visit = browser();
  let url = start;
  let form: URLSearchParams | undefined;
  for (let step = 0; step < 20; step++) {
    const response = await visit(url, form);
    form = undefined;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      const next = new URL(location, url);
      if (next.href.startsWith(stopAt)) return next;
      url = next.href;
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (response.status !== 200 || !action || !prompt) throw new Error(`the provider answered ${response.status} at ${url}: ${html.slice(0, 300)}`);
    url = new URL(action.replace(/&amp;/g, '&'), url).href;
    form = new URLSearchParams(prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt });
  }
  throw new Error('the sign-in did not finish in 20 steps');
}

/**
 * Do what a person does with a device login's `verification_uri_complete` in a browser: confirm
 * the code (or abort), sign in as `account` and consent; the provider's final page.
 */
export async function approveDevice(verificationUri: string, account: string, answer: 'confirm' | 'abort' = 'confirm'): Promise<string> {
  const visit = browser();
  let url = verificationUri;
  let form: URLSearchParams | undefined;
  let aborted = false;
  for (let step = 0; step < 20; step++) {
    const response = await visit(url, form);
    form = undefined;
    const location = response.headers.get('location');
    if (response.status >= 300 && response.status < 400 && location) {
      url = new URL(location, url).href;
      continue;
    }
    const html = await response.text();
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const hidden = Object.fromEntries([...html.matchAll(/<input type="hidden" name="(\w+)" value="([^"]*)"/g)].map((m) => [m[1]!, m[2]!.replace(/&amp;/g, '&')]));
    // The provider's response to its own device resume endpoint, posted back as a browser's script would.
    if (action && html.includes('<title>Submitting Callback</title>')) {
      url = new URL(action.replace(/&amp;/g, '&'), url).href;
      form = new URLSearchParams(hidden);
      continue;
    }
    if (response.status !== 200) throw new Error(`the provider answered ${response.status} at ${url}: ${html.slice(0, 300)}`);
    if (!action || aborted) return html;
    url = new URL(action.replace(/&amp;/g, '&'), url).href;
    if (html.includes('op.deviceConfirmForm')) {
      form = new URLSearchParams(answer === 'abort' ? { xsrf: hidden.xsrf!, user_code: hidden.user_code!, abort: 'yes' } : hidden);
      aborted = answer === 'abort';
      continue;
    }
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!prompt) throw new Error(`unexpected page at ${url}: ${html.slice(0, 300)}`);
    form = new URLSearchParams(prompt === 'login' ? { prompt, login: account, password: 'any' } : { prompt });
  }
  throw new Error('the device sign-in did not finish in 20 steps');
}
