import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { generateDpopKeyPair } from '../src/sdk/dpop.ts';
import { signManifest } from '../src/sdk/manifest.ts';
import { AgentRuntime } from '../src/sdk/runtime.ts';
import { verifyPresentedMandate } from '../src/tokens/verify-request.ts';
import { readJson, startTestServer, type TestServer } from './harness.ts';
import { bootstrap, CODE_HASH, decode, joinToken, personToken, register, summarizer, supportBot, delegationScene } from './fixtures.ts';
import {
  exchangeAs,
  exchangeForm,
  expectRefused,
  forge,
  form,
  formHeaders,
  mandateRows,
  proofFor,
  reissue,
  serverSigner,
  tokenRequest,
  tokenUrl,
} from './mandates.kit.ts';

/**
 * Attacks on the token endpoint (RFC 8693 + RFC 9449), each answered with its exact OAuth error
 * and Mandate code, audited as `token.refused`, and leaving no mandate behind.
 */
const outsider = { ...summarizer, id: 'outsider', name: 'Outsider' };

describe('attacks on the token endpoint', () => {
  let shift = 0;
  let server: TestServer;
  let parent: AgentRuntime;
  let child: AgentRuntime;
  let stranger: AgentRuntime;
  let alice: string;
  let parentMandate: string;
  let github: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite', { now: () => new Date(Date.now() + shift) });
    github = `${server.url}/mcp/github`;
    for (const card of [supportBot, summarizer, outsider]) await register(server, card);
    parent = await bootstrap(server, 'support-bot');
    child = await bootstrap(server, 'summarizer');
    stranger = await bootstrap(server, 'outsider');
    alice = await personToken(server, 'alice@example.com');
    parentMandate = (await parent.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues tool:github/create_issue', resource: github })).token;
  });
  afterEach(() => {
    shift = 0;
  });
  afterAll(() => server.close());

  const asParent = (overrides: Record<string, string | undefined> = {}, dpop?: string) => exchangeAs(server, parent, alice, github, overrides, dpop);
  const invalidRequest = (code: string, description?: string | RegExp) => ({ error: 'invalid_request', code, ...(description ? { description } : {}) });

  describe('forged actor and subject tokens', () => {
    it('refuses alg none, as actor and as subject', async () => {
      const identity = decode(await parent.identityToken());
      const kid = serverSigner(server).kid;
      const noneActor = forge({ alg: 'none', typ: 'identity+jwt', kid }, identity, 'none');
      await expectRefused(server, () => asParent({ actor_token: noneActor }), invalidRequest('ERR_TOKEN_ALG', 'alg must be EdDSA'));
      const nonePerson = forge({ alg: 'none', typ: 'person+jwt', kid }, decode(alice), 'none');
      await expectRefused(server, () => asParent({ subject_token: nonePerson }), invalidRequest('ERR_TOKEN_ALG'));
      const noneMandate = forge({ alg: 'none', typ: 'at+jwt', kid }, decode(parentMandate), 'none');
      await expectRefused(server, () => exchangeAs(server, child, noneMandate, github), invalidRequest('ERR_TOKEN_ALG'));
    });

    it('refuses HS256 keyed with our public key, in every spelling of that key', async () => {
      const { publicJwk, publicKey, kid } = serverSigner(server);
      const secrets = [
        Buffer.from(publicJwk.x!, 'base64url'),
        Buffer.from(publicJwk.x!),
        Buffer.from(JSON.stringify(publicJwk)),
        publicKey.export({ format: 'pem', type: 'spki' }) as Buffer,
        Buffer.from(publicKey.export({ format: 'pem', type: 'spki' }) as string),
      ];
      const identity = decode(await parent.identityToken());
      for (const secret of secrets) {
        const hsActor = forge({ alg: 'HS256', typ: 'identity+jwt', kid }, identity, { hs256: secret });
        await expectRefused(server, () => asParent({ actor_token: hsActor }), invalidRequest('ERR_TOKEN_ALG'));
      }
      const hsPerson = forge({ alg: 'HS256', typ: 'person+jwt', kid }, decode(alice), { hs256: secrets[0]! });
      await expectRefused(server, () => asParent({ subject_token: hsPerson }), invalidRequest('ERR_TOKEN_ALG'));
    });

    it('refuses an unknown kid, and a known kid with a signature from another key', async () => {
      const identity = decode(await parent.identityToken());
      const attacker = crypto.generateKeyPairSync('ed25519').privateKey;
      const unknownKid = forge({ alg: 'EdDSA', typ: 'identity+jwt', kid: 'attacker-key' }, identity, attacker);
      await expectRefused(server, () => asParent({ actor_token: unknownKid }), invalidRequest('ERR_TOKEN_KID'));
      const noKid = forge({ alg: 'EdDSA', typ: 'identity+jwt' }, identity, attacker);
      await expectRefused(server, () => asParent({ actor_token: noKid }), invalidRequest('ERR_TOKEN_KID'));
      const ourKid = forge({ alg: 'EdDSA', typ: 'identity+jwt', kid: serverSigner(server).kid }, identity, attacker);
      await expectRefused(server, () => asParent({ actor_token: ourKid }), invalidRequest('ERR_TOKEN_SIGNATURE'));
      const personOurKid = forge({ alg: 'EdDSA', typ: 'person+jwt', kid: serverSigner(server).kid }, { ...decode(alice), sub: 'ceo@example.com' }, attacker);
      await expectRefused(server, () => asParent({ subject_token: personOurKid }), invalidRequest('ERR_TOKEN_SIGNATURE'));
    });

    it('refuses a token of one type where another is expected', async () => {
      const mandateAsActor = () => asParent({ actor_token: parentMandate });
      await expectRefused(server, mandateAsActor, invalidRequest('ERR_TOKEN_TYP', 'typ must be identity+jwt'));
      await expectRefused(server, () => asParent({ actor_token: alice }), invalidRequest('ERR_TOKEN_TYP'));
      // A DPoP proof carries its key in `jwk`: our token verifier refuses any key a token names.
      const proofAsActor = proofFor(server, parent.key, 'POST', tokenUrl(server));
      await expectRefused(server, () => asParent({ actor_token: proofAsActor }), invalidRequest('ERR_TOKEN_HEADER', 'jwk'));
      const proofAsSubject = proofFor(server, parent.key, 'POST', tokenUrl(server));
      await expectRefused(server, () => asParent({ subject_token: proofAsSubject }), invalidRequest('ERR_SUBJECT_INVALID', 'dpop+jwt token is not a person token'));
      const retyped = reissue(server, await parent.identityToken(), { header: { typ: 'at+jwt' } });
      await expectRefused(server, () => asParent({ actor_token: retyped }), invalidRequest('ERR_TOKEN_TYP'));
    });

    it('accepts an identity token as subject only as the actor itself', async () => {
      const othersIdentity = await stranger.identityToken();
      await expectRefused(server, () => exchangeAs(server, child, othersIdentity, github), invalidRequest('ERR_SUBJECT_INVALID', 'must be the actor itself'));
      // The summarizer may act on its own (on_behalf_of: optional): then the mandate names no person.
      const own = await exchangeAs(server, child, await child.identityToken(), github);
      expect(own.status).toBe(200);
      expect(decode(own.body.access_token!)).toMatchObject({ sub: child.spiffeId, sub_kind: 'agent', client_id: 'summarizer' });
    });

    it('refuses the agent`s own identity as subject when its card says on_behalf_of: required', async () => {
      await expectRefused(
        server,
        async () => exchangeAs(server, parent, await parent.identityToken(), github),
        { error: 'invalid_request', code: 'ERR_GRANT_INVALID', description: /acts only on behalf of a person/ },
      );
    });

    it('refuses expired tokens and tokens not valid yet (clock moved, never slept)', async () => {
      const identity = await parent.identityToken();
      shift = (decode(identity).exp - Date.now() / 1000 + 31) * 1000;
      await expectRefused(server, () => asParent({ actor_token: identity }), invalidRequest('ERR_TOKEN_EXPIRED'));
      // A fresh actor, so the expired person token is what is refused.
      const freshActor = reissue(server, identity, { claims: { iat: Math.floor(server.ctx.now().getTime() / 1000), exp: Math.floor(server.ctx.now().getTime() / 1000) + 600 } });
      await expectRefused(server, () => asParent({ actor_token: freshActor }), invalidRequest('ERR_TOKEN_EXPIRED'));
      shift = (decode(parentMandate).exp - Date.now() / 1000 + 31) * 1000;
      const freshChild = reissue(server, await child.identityToken(), { claims: { iat: Math.floor(server.ctx.now().getTime() / 1000), exp: Math.floor(server.ctx.now().getTime() / 1000) + 600 } });
      await expectRefused(server, () => exchangeAs(server, child, parentMandate, github, { actor_token: freshChild }), invalidRequest('ERR_TOKEN_EXPIRED'));
      shift = 0;
      const notYet = reissue(server, identity, { claims: { nbf: Math.floor(Date.now() / 1000) + 3600 } });
      await expectRefused(server, () => asParent({ actor_token: notYet }), invalidRequest('ERR_TOKEN_NOT_YET_VALID'));
      const personNotYet = reissue(server, alice, { claims: { nbf: Math.floor(Date.now() / 1000) + 3600 } });
      await expectRefused(server, () => asParent({ subject_token: personNotYet }), invalidRequest('ERR_TOKEN_NOT_YET_VALID'));
    });

    it('refuses a wrong audience or issuer, even when signed with our key', async () => {
      const identity = await parent.identityToken();
      await expectRefused(server, () => asParent({ actor_token: reissue(server, identity, { claims: { aud: 'https://gateway.example' } }) }), invalidRequest('ERR_TOKEN_AUDIENCE'));
      await expectRefused(server, () => asParent({ actor_token: reissue(server, identity, { claims: { iss: 'https://evil.example' } }) }), invalidRequest('ERR_TOKEN_ISSUER'));
      await expectRefused(server, () => asParent({ subject_token: reissue(server, alice, { claims: { aud: 'https://other.example' } }) }), invalidRequest('ERR_TOKEN_AUDIENCE'));
      await expectRefused(server, () => asParent({ subject_token: reissue(server, alice, { claims: { iss: server.ctx.issuer } }) }), invalidRequest('ERR_TOKEN_ISSUER'));
    });

    it('refuses a person token from an issuer it does not trust', async () => {
      const { privateKey } = crypto.generateKeyPairSync('ed25519');
      const evil = await new SignJWT({ email: 'alice@example.com' })
        .setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: 'evil-1' })
        .setIssuer('https://evil.example')
        .setSubject('alice@example.com')
        .setAudience(server.ctx.issuer)
        .setIssuedAt()
        .setExpirationTime('10m')
        .sign(privateKey);
      await expectRefused(server, () => asParent({ subject_token: evil }), invalidRequest('ERR_SUBJECT_INVALID', 'not trusted'));
      // Claiming our development issuer without its typ does not reach our keys either.
      const devIss = forge({ alg: 'EdDSA', typ: 'JWT', kid: serverSigner(server).kid }, { ...decode(alice) }, privateKey);
      await expectRefused(server, () => asParent({ subject_token: devIss }), invalidRequest('ERR_SUBJECT_INVALID', 'not trusted'));
    });
  });

  describe('DPoP proofs at the token endpoint', () => {
    it('refuses an exchange without a proof, and a proof for another method or URI', async () => {
      const form = await exchangeForm(parent, alice, github);
      await expectRefused(server, () => tokenRequest(server, form), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_INVALID', description: 'DPoP proof is required' });
      await expectRefused(server, () => asParent({}, proofFor(server, parent.key, 'GET', tokenUrl(server))), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_HTM' });
      await expectRefused(server, () => asParent({}, proofFor(server, parent.key, 'post', tokenUrl(server))), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_HTM' });
      await expectRefused(server, () => asParent({}, proofFor(server, parent.key, 'POST', `${server.url}/oauth/introspect`)), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_HTU' });
      await expectRefused(server, () => asParent({}, proofFor(server, parent.key, 'POST', 'https://evil.example/oauth/token')), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_HTU' });
    });

    it('refuses a proof signed by another key than the one the actor token is bound to', async () => {
      await expectRefused(server, () => asParent({}, proofFor(server, stranger.key, 'POST', tokenUrl(server))), {
        error: 'invalid_dpop_proof',
        code: 'ERR_DPOP_KEY_MISMATCH',
      });
      // The stolen identity token with the thief's own fresh key is the same attack.
      await expectRefused(server, () => asParent({}, proofFor(server, generateDpopKeyPair(), 'POST', tokenUrl(server))), {
        error: 'invalid_dpop_proof',
        code: 'ERR_DPOP_KEY_MISMATCH',
      });
    });

    it('refuses a proof with a private key in its jwk, or too old', async () => {
      const key = parent.key;
      const [h, p] = proofFor(server, key, 'POST', tokenUrl(server)).split('.') as [string, string];
      const header = JSON.parse(Buffer.from(h, 'base64url').toString());
      const { d } = key.privateKey.export({ format: 'jwk' });
      const leaky = forge({ ...header, jwk: { ...header.jwk, d } }, JSON.parse(Buffer.from(p, 'base64url').toString()), key.privateKey);
      const answer = await expectRefused(server, () => asParent({}, leaky), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_INVALID', description: 'private key' });
      expect(JSON.stringify(answer.body)).not.toContain(d);
      const old = proofFor(server, key, 'POST', tokenUrl(server));
      shift = 61_000;
      await expectRefused(server, () => asParent({}, old), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_IAT' });
    });
  });

  describe('delegation', () => {
    it('refuses a sub-agent more scope, budget or audience than its parent, and caps its lifetime at the parent`s', async () => {
      await expectRefused(server, () => exchangeAs(server, child, parentMandate, github, { scope: 'tool:github/delete_repo' }), {
        error: 'invalid_scope',
        code: 'ERR_SCOPE_EXCEEDS_PARENT',
      });
      await expectRefused(server, () => exchangeAs(server, child, parentMandate, github, { scope: 'tool:github/*' }), {
        error: 'invalid_scope',
        code: 'ERR_SCOPE_EXCEEDS_PARENT',
      });
      const over = JSON.stringify([{ type: 'mandate_task', budget: supportBot.default_budget + 1 }]);
      await expectRefused(server, () => exchangeAs(server, child, parentMandate, github, { authorization_details: over }), invalidRequest('ERR_BUDGET_EXCEEDS_PARENT'));
      await expectRefused(server, () => exchangeAs(server, child, parentMandate, `${server.url}/broker`), { error: 'invalid_target', code: 'ERR_TARGET_INVALID' });
      // No lifetime parameter exists to ask for more; the card allows an hour, the parent has 100 s left.
      shift = 500_000;
      const late = await exchangeAs(server, child, parentMandate, github);
      expect(late.status).toBe(200);
      expect(decode(late.body.access_token!).exp).toBe(decode(parentMandate).exp);
      expect(late.body.expires_in).toBeLessThanOrEqual(101);
    });

    it('refuses delegation to an agent the parent card does not name', async () => {
      await expectRefused(server, () => exchangeAs(server, stranger, parentMandate, github), {
        error: 'invalid_request',
        code: 'ERR_DELEGATION_NOT_ALLOWED',
        description: 'support-bot may not delegate to outsider',
      });
    });

    it('refuses a chain deeper than the delegation depth limit', async () => {
      await register(server, { ...summarizer, id: 'worker', name: 'Worker', may_delegate_to: ['worker'] });
      const workers: AgentRuntime[] = [];
      for (let i = 0; i <= server.ctx.maxDelegationDepth + 1; i++) workers.push(await bootstrap(server, 'worker'));
      let subject = alice;
      for (let depth = 0; depth <= server.ctx.maxDelegationDepth; depth++) {
        const answer = await exchangeAs(server, workers[depth]!, subject, github);
        expect(answer.status).toBe(200);
        expect(decode(answer.body.access_token!).depth).toBe(depth);
        subject = answer.body.access_token!;
      }
      await expectRefused(server, () => exchangeAs(server, workers.at(-1)!, subject, github), {
        error: 'invalid_request',
        code: 'ERR_DELEGATION_DEPTH',
      });
    });

    it('refuses a revoked parent mandate as subject', async () => {
      const doomed = (await parent.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: github })).token;
      expect((await server.api('POST', '/oauth/revoke', form({ token: doomed }), formHeaders)).status).toBe(200);
      await expectRefused(server, () => exchangeAs(server, child, doomed, github), { error: 'invalid_request', code: 'ERR_GRANT_INVALID', description: 'revoked' });
    });
  });

  describe('malformed and oversize requests', () => {
    it('refuses an exchange without actor_token', async () => {
      await expectRefused(server, () => asParent({ actor_token: undefined, actor_token_type: undefined }), invalidRequest('ERR_EXCHANGE_REQUEST', 'actor_token is required'));
    });

    it('answers a 20 KB subject token with 400, not a crash', async () => {
      const huge = `${'a'.repeat(10_000)}.${'b'.repeat(10_000)}.c`;
      await expectRefused(server, () => asParent({ subject_token: huge }), invalidRequest('ERR_EXCHANGE_REQUEST', 'subject_token'));
      await expectRefused(server, () => asParent({ actor_token: huge }), invalidRequest('ERR_EXCHANGE_REQUEST', 'actor_token'));
      const hugeProof = `${'a'.repeat(5000)}.b.c`;
      await expectRefused(server, () => asParent({}, hugeProof), { error: 'invalid_dpop_proof', code: 'ERR_DPOP_INVALID' });
    });

    it('answers a 64 KB header with 431 from Node, and keeps serving', async () => {
      const url = new URL(tokenUrl(server));
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const request = http.request(
          { host: url.hostname, port: url.port, path: url.pathname, method: 'POST', headers: { dpop: 'x'.repeat(64 * 1024), 'content-length': 0 } },
          (response) => {
            response.resume();
            resolve(response.statusCode);
          },
        );
        request.on('error', reject);
        request.end();
      });
      expect(status).toBe(431);
      const big = await server.api('POST', '/v1/agents', { ...supportBot, id: 'big', purpose: 'p'.repeat(2 * 1024 * 1024) });
      expect(big.status).toBe(413);
      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const answer = await asParent();
      expect(answer.status).toBe(200);
    });
  });

  describe('nothing named in a token is ever fetched', () => {
    let hits = 0;
    let trap: http.Server;
    let trapUrl: string;

    beforeAll(async () => {
      trap = http.createServer((_req, res) => {
        hits++;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"keys":[]}');
      });
      await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
      trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => trap.close(() => resolve())));

    it('refuses jku and x5u in actor and subject tokens without a single request to them', async () => {
      const identity = await parent.identityToken();
      for (const name of ['jku', 'x5u']) {
        const pointer = { [name]: `${trapUrl}/${name}` };
        await expectRefused(server, () => asParent({ actor_token: reissue(server, identity, { header: pointer }) }), invalidRequest('ERR_TOKEN_HEADER', name));
        await expectRefused(server, () => asParent({ subject_token: reissue(server, alice, { header: pointer }) }), invalidRequest('ERR_TOKEN_HEADER', name));
        await expectRefused(server, () => exchangeAs(server, child, reissue(server, parentMandate, { header: pointer }), github), invalidRequest('ERR_TOKEN_HEADER', name));
      }
      // A trusted OIDC issuer is verified against its configured JWKS only, never a jku it names.
      const idp = crypto.generateKeyPairSync('ed25519');
      const jwk = { ...idp.publicKey.export({ format: 'jwk' }), kid: 'idp-1', alg: 'EdDSA' };
      await server.ctx.store.db
        .insertInto('trusted_issuers')
        .values({ issuer: 'https://idp.example', audience: null, jwks: JSON.stringify({ keys: [jwk] }), created_at: new Date().toISOString() })
        .execute();
      const attacker = crypto.generateKeyPairSync('ed25519').privateKey;
      const now = Math.floor(Date.now() / 1000);
      const claims = { iss: 'https://idp.example', sub: 'ceo@example.com', aud: server.ctx.issuer, iat: now, exp: now + 600 };
      const pointing = forge({ alg: 'EdDSA', typ: 'JWT', kid: 'attacker-1', jku: `${trapUrl}/jwks` }, claims, attacker);
      await expectRefused(server, () => asParent({ subject_token: pointing }), invalidRequest('ERR_SUBJECT_INVALID', 'https://idp.example is not valid'));
      // The trusted issuer itself works, which shows the refusal above is about the key.
      const genuine = forge({ alg: 'EdDSA', typ: 'JWT', kid: 'idp-1' }, claims, idp.privateKey);
      expect((await asParent({ subject_token: genuine })).status).toBe(200);
      expect(hits).toBe(0);
    });

    it('ignores jku and x5u in a DPoP proof, a manifest and a presented mandate, fetching nothing', async () => {
      const key = generateDpopKeyPair();
      const pointer = { jku: `${trapUrl}/jwks`, x5u: `${trapUrl}/x5u` };
      const withPointer = (token: string, sign: crypto.KeyObject) => {
        const [h, p] = token.split('.') as [string, string];
        return forge({ ...JSON.parse(Buffer.from(h, 'base64url').toString()), ...pointer }, JSON.parse(Buffer.from(p, 'base64url').toString()), sign);
      };
      const proof = withPointer(proofFor(server, parent.key, 'POST', tokenUrl(server)), parent.key.privateKey);
      expect((await asParent({}, proof)).status).toBe(200);
      const manifest = signManifest({ agent_id: 'summarizer', join_token: await joinToken(server, 'summarizer'), code_hash: CODE_HASH, environment: 'prod' }, key);
      const attested = await server.api('POST', '/v1/instances', { manifest: withPointer(manifest, key.privateKey) }, { authorization: '' });
      expect(attested.status).toBe(201);
      const presented = reissue(server, parentMandate, { header: pointer });
      await expect(
        verifyPresentedMandate(server.ctx, { authorization: `DPoP ${presented}`, dpop: proofFor(server, parent.key, 'GET', github, presented), htm: 'GET', htu: github, resource: github }),
      ).rejects.toMatchObject({ code: 'ERR_TOKEN_HEADER' });
      expect(hits).toBe(0);
    });
  });
});

describe('attacks on an enforcement point (verifyPresentedMandate)', () => {
  let server: TestServer;
  let agent: AgentRuntime;
  let mandate: string;
  let github: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    github = `${server.url}/mcp/github`;
    await register(server, supportBot);
    agent = await bootstrap(server, 'support-bot');
    mandate = (await agent.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'tool:github/search_issues', resource: github })).token;
  });
  afterAll(() => server.close());

  const present = (authorization: string | undefined, dpop: string | undefined, resource = github) =>
    verifyPresentedMandate(server.ctx, { authorization, dpop, htm: 'POST', htu: github, resource });

  it('refuses the mandate as a Bearer token, and with no proof', async () => {
    await expect(present(`Bearer ${mandate}`, agent.proof('POST', github, mandate))).rejects.toMatchObject({ code: 'ERR_TOKEN_INVALID', status: 401 });
    await expect(present(`DPoP ${mandate}`, undefined)).rejects.toMatchObject({ code: 'ERR_DPOP_INVALID' });
    await expect(present(undefined, undefined)).rejects.toMatchObject({ code: 'ERR_TOKEN_MISSING' });
  });

  it('refuses a proof from another key, for another token, or replayed', async () => {
    const thief = generateDpopKeyPair();
    await expect(present(`DPoP ${mandate}`, proofFor(server, thief, 'POST', github, mandate))).rejects.toMatchObject({ code: 'ERR_DPOP_KEY_MISMATCH' });
    await expect(present(`DPoP ${mandate}`, agent.proof('POST', github))).rejects.toMatchObject({ code: 'ERR_DPOP_ATH' });
    await expect(present(`DPoP ${mandate}`, agent.proof('POST', github, `${mandate}x`))).rejects.toMatchObject({ code: 'ERR_DPOP_ATH' });
    await expect(present(`DPoP ${mandate}`, agent.proof('GET', github, mandate))).rejects.toMatchObject({ code: 'ERR_DPOP_HTM' });
    const once = agent.proof('POST', github, mandate);
    await expect(present(`DPoP ${mandate}`, once)).resolves.toMatchObject({ agentId: 'support-bot' });
    await expect(present(`DPoP ${mandate}`, once)).rejects.toMatchObject({ code: 'ERR_DPOP_REPLAY' });
  });

  it('refuses a mandate for another enforcement point, or re-signed by anyone else', async () => {
    await expect(present(`DPoP ${mandate}`, agent.proof('POST', github, mandate), `${server.url}/mcp/jira`)).rejects.toMatchObject({ code: 'ERR_TOKEN_AUDIENCE' });
    const widened = forge(JSON.parse(Buffer.from(mandate.split('.')[0]!, 'base64url').toString()), { ...decode(mandate), scope: 'tool:github/*' }, crypto.generateKeyPairSync('ed25519').privateKey);
    await expect(present(`DPoP ${widened}`, agent.proof('POST', github, widened))).rejects.toMatchObject({ code: 'ERR_TOKEN_SIGNATURE' });
  });
});

describe('attacks on attestation', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await register(server, supportBot);
  });
  afterAll(() => server.close());

  const attest = async (manifest: string) => {
    const res = await fetch(`${server.url}/v1/instances`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ manifest }) });
    return { status: res.status, body: await readJson(res) };
  };
  const refusedWith = (code: string) => expect(server.audit.ofType('identity.refused').at(-1)).toMatchObject({ denial_reason: code, decision: 'deny' });

  it('refuses a second bootstrap with the same join token', async () => {
    const token = await joinToken(server, 'support-bot');
    const manifest = { agent_id: 'support-bot', join_token: token, code_hash: CODE_HASH, environment: 'prod' as const, model: 'gpt-5' };
    await AgentRuntime.bootstrap(server.url, manifest);
    const before = await server.ctx.store.db.selectFrom('instances').select('id').execute();
    await expect(AgentRuntime.bootstrap(server.url, manifest)).rejects.toMatchObject({ status: 401, error: 'ERR_JOIN_TOKEN', message: expect.stringContaining('already been used') });
    expect(await server.ctx.store.db.selectFrom('instances').select('id').execute()).toEqual(before);
    refusedWith('ERR_JOIN_TOKEN');
  });

  it('refuses a manifest whose code hash is not on the card, and audits it', async () => {
    await expect(
      AgentRuntime.bootstrap(server.url, { agent_id: 'support-bot', join_token: await joinToken(server, 'support-bot'), code_hash: `sha256:${'e'.repeat(64)}`, environment: 'prod', model: 'gpt-5' }),
    ).rejects.toMatchObject({ status: 403, error: 'ERR_ATTESTATION_CODE_HASH' });
    refusedWith('ERR_ATTESTATION_CODE_HASH');
    expect(server.audit.ofType('identity.refused').at(-1)).toMatchObject({ actor: { agent: 'support-bot' } });
  });

  it('refuses a manifest whose JWK carries the private key', async () => {
    const key = generateDpopKeyPair();
    const d = (key.privateKey.export({ format: 'jwk' }) as { d: string }).d;
    const leaky = { ...key, publicJwk: { ...key.publicJwk, d } as never };
    const answer = await attest(signManifest({ agent_id: 'support-bot', join_token: await joinToken(server, 'support-bot'), code_hash: CODE_HASH, environment: 'prod', model: 'gpt-5' }, leaky));
    expect(answer).toMatchObject({ status: 400, body: { code: 'ERR_MANIFEST_INVALID', detail: expect.stringContaining('private key material') } });
    expect(JSON.stringify(answer.body)).not.toContain(d);
    refusedWith('ERR_MANIFEST_INVALID');
  });

  it('refuses a key that is already bound to another instance', async () => {
    const key = generateDpopKeyPair();
    const manifest = async () => ({ agent_id: 'support-bot', join_token: await joinToken(server, 'support-bot'), code_hash: CODE_HASH, environment: 'prod' as const, model: 'gpt-5' });
    await AgentRuntime.bootstrap(server.url, await manifest(), key);
    await expect(AgentRuntime.bootstrap(server.url, await manifest(), key)).rejects.toMatchObject({ status: 409, error: 'ERR_ATTESTATION_KEY_REUSED' });
    refusedWith('ERR_ATTESTATION_KEY_REUSED');
  });

  it('refuses a manifest signed by another key than the one it carries', async () => {
    const key = generateDpopKeyPair();
    const borrowed = { ...generateDpopKeyPair(), publicJwk: key.publicJwk };
    const answer = await attest(signManifest({ agent_id: 'support-bot', join_token: await joinToken(server, 'support-bot'), code_hash: CODE_HASH, environment: 'prod', model: 'gpt-5' }, borrowed));
    expect(answer).toMatchObject({ status: 400, body: { code: 'ERR_MANIFEST_SIGNATURE' } });
    refusedWith('ERR_MANIFEST_SIGNATURE');
  });
});

describe('introspection and revocation endpoints', () => {
  let server: TestServer;
  let mandate: string;

  beforeAll(async () => {
    server = await startTestServer('sqlite');
    await register(server, supportBot);
    const agent = await bootstrap(server, 'support-bot');
    mandate = (await agent.obtainMandate({ subjectToken: await personToken(server, 'alice@example.com'), scope: 'tool:github/search_issues', resource: `${server.url}/mcp/github` })).token;
  });
  afterAll(() => server.close());

  it('answers 401 invalid_client without credentials, with a bad one, and with a mandate as credential', async () => {
    for (const endpoint of ['/oauth/introspect', '/oauth/revoke']) {
      for (const authorization of ['', 'Bearer mdt_nope.nope', `DPoP ${mandate}`, `Bearer ${mandate}`]) {
        const res = await server.api('POST', endpoint, form({ token: mandate }), { ...formHeaders, authorization });
        expect(res.status).toBe(401);
        expect(await readJson(res)).toEqual({ error: 'invalid_client' });
      }
    }
    expect(await readJson(await server.api('POST', '/oauth/introspect', form({ token: mandate }), formHeaders))).toMatchObject({ active: true });
  });

  it('answers exactly {"active":false} for anything that is not a live mandate of ours', async () => {
    const attacker = crypto.generateKeyPairSync('ed25519').privateKey;
    const foreign = forge(JSON.parse(Buffer.from(mandate.split('.')[0]!, 'base64url').toString()), decode(mandate), attacker);
    const identity = (await bootstrap(server, 'support-bot')).identityToken();
    for (const token of [foreign, await identity, await personToken(server, 'bob@example.com'), 'garbage', '', 'a'.repeat(100_000)]) {
      const res = await server.api('POST', '/oauth/introspect', form({ token }), formHeaders);
      expect(res.status).toBe(200);
      expect(await res.text()).toBe('{"active":false}');
    }
    // Revoking a foreign token is a no-op answered 200 (RFC 7009 §2.2), and our mandate stays live.
    expect((await server.api('POST', '/oauth/revoke', form({ token: foreign }), formHeaders)).status).toBe(200);
    expect(await readJson(await server.api('POST', '/oauth/introspect', form({ token: mandate }), formHeaders))).toMatchObject({ active: true });
    expect(await mandateRows(server)).toBe(1);
  });
});

describe('lifecycle ends mandates at once', () => {
  let server: TestServer;
  let parent: AgentRuntime;
  let child: AgentRuntime;
  let alice: string;
  let github: string;

  beforeAll(async () => {
    ({ server, parent, child, alice, github } = await delegationScene('sqlite'));
  });
  afterAll(() => server.close());

  const introspect = async (token: string) => (await server.api('POST', '/oauth/introspect', form({ token }), formHeaders)).text();
  const present = (runtime: AgentRuntime, token: string) =>
    verifyPresentedMandate(server.ctx, { authorization: `DPoP ${token}`, dpop: runtime.proof('POST', github, token), htm: 'POST', htu: github, resource: github });
  const renew = (instanceId: string, dpop?: string) =>
    fetch(`${server.url}/v1/instances/${instanceId}/token`, { method: 'POST', headers: dpop ? { dpop } : {} }).then(async (res) => ({ status: res.status, body: await readJson(res) }));
  const renewalUrl = (instanceId: string) => `${server.ctx.issuer}/v1/instances/${instanceId}/token`;

  it('renews an identity token with a proof from the instance key, and never with another key', async () => {
    const url = renewalUrl(parent.instanceId);
    const renewed = await renew(parent.instanceId, parent.proof('POST', url));
    expect(renewed.status).toBe(200);
    expect(decode(renewed.body.identity_token)).toMatchObject({ sub: parent.spiffeId, cnf: { jkt: parent.key.jkt } });
    const asActor = await exchangeAs(server, parent, alice, github, { actor_token: renewed.body.identity_token });
    expect(asActor.status).toBe(200);
    expect(await renew(parent.instanceId, proofFor(server, generateDpopKeyPair(), 'POST', url))).toMatchObject({ status: 400, body: { code: 'ERR_DPOP_KEY_MISMATCH' } });
    expect(await renew(parent.instanceId, proofFor(server, child.key, 'POST', url))).toMatchObject({ status: 400, body: { code: 'ERR_DPOP_KEY_MISMATCH' } });
    expect(await renew(parent.instanceId, parent.proof('POST', renewalUrl(child.instanceId)))).toMatchObject({ status: 400, body: { code: 'ERR_DPOP_HTU' } });
    expect(await renew(parent.instanceId)).toMatchObject({ status: 401, body: { code: 'ERR_RENEWAL_REFUSED' } });
    const once = parent.proof('POST', url);
    expect((await renew(parent.instanceId, once)).status).toBe(200);
    expect(await renew(parent.instanceId, once)).toMatchObject({ status: 400, body: { code: 'ERR_DPOP_REPLAY' } });
    expect(await renew('no-such-instance', parent.proof('POST', renewalUrl('no-such-instance')))).toMatchObject({ status: 401, body: { code: 'ERR_RENEWAL_REFUSED' } });
  });

  it('suspending an agent ends its mandates and those derived from them, and resuming revives none', async () => {
    const mandate = (await parent.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: github })).token;
    const derived = (await child.obtainMandate({ subjectToken: mandate, scope: 'tool:github/search_issues', resource: github })).token;
    expect(await introspect(derived)).toContain('"active":true');
    expect((await server.api('POST', '/v1/agents/support-bot/suspend')).status).toBe(200);
    expect(await introspect(mandate)).toBe('{"active":false}');
    expect(await introspect(derived)).toBe('{"active":false}');
    // The suspended agent is told so (its own mandate, its exchange, its renewal); the sub-agent's
    // derived mandate is only revoked: its own agent is not suspended.
    await expect(present(parent, mandate)).rejects.toMatchObject({ code: 'ERR_AGENT_SUSPENDED', message: 'agent support-bot is suspended: its mandates are revoked until a person resumes it' });
    await expect(present(child, derived)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    await expectRefused(server, () => exchangeAs(server, parent, alice, github), { error: 'invalid_request', code: 'ERR_AGENT_SUSPENDED', description: /agent support-bot is suspended/ });
    expect(await renew(parent.instanceId, parent.proof('POST', renewalUrl(parent.instanceId)))).toMatchObject({ status: 401, body: { code: 'ERR_AGENT_SUSPENDED' } });
    expect(server.audit.ofType('lifecycle.suspended').at(-1)!.data).toMatchObject({ resources: expect.arrayContaining([decode(mandate).jti, decode(derived).jti]) });

    expect((await server.api('POST', '/v1/agents/support-bot/resume')).status).toBe(200);
    expect(await introspect(mandate)).toBe('{"active":false}');
    await expect(present(parent, mandate)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    expect((await exchangeAs(server, parent, alice, github)).status).toBe(200);
  });

  it('revoking an instance ends its identity and every mandate it holds', async () => {
    const doomed = await bootstrap(server, 'support-bot');
    const mandate = (await doomed.obtainMandate({ subjectToken: alice, scope: 'tool:github/search_issues', resource: github })).token;
    const derived = (await child.obtainMandate({ subjectToken: mandate, scope: 'tool:github/search_issues', resource: github })).token;
    const res = await server.api('POST', `/v1/instances/${doomed.instanceId}/revoke`);
    expect(await readJson(res)).toEqual({ instance_id: doomed.instanceId, revoked_mandates: 2 });
    expect(await introspect(mandate)).toBe('{"active":false}');
    expect(await introspect(derived)).toBe('{"active":false}');
    await expect(present(doomed, mandate)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    await expect(present(child, derived)).rejects.toMatchObject({ code: 'ERR_TOKEN_REVOKED' });
    await expectRefused(server, () => exchangeAs(server, doomed, alice, github), { error: 'invalid_request', code: 'ERR_ACTOR_REVOKED' });
    expect(await renew(doomed.instanceId, doomed.proof('POST', renewalUrl(doomed.instanceId)))).toMatchObject({ status: 401, body: { code: 'ERR_RENEWAL_REFUSED' } });
    expect(server.audit.ofType('lifecycle.revoked').at(-1)).toMatchObject({ actor: { instance: doomed.instanceId }, data: { resources: [decode(mandate).jti, decode(derived).jti] } });
    // The other instance of the same agent is untouched.
    expect((await exchangeAs(server, parent, alice, github)).status).toBe(200);
  });
});
