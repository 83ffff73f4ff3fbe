import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { deleteExpiredClientTokens, mintClientToken } from '../src/keys/clientTokens.js';
import { DIALECTS } from './helpers/db.js';
import { authed, gql } from './helpers/graphql.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

// Client tokens (ct_…): minted over REST with a secret key for one tenant, exchanged once on the
// public GraphQL endpoint, with a public key (pk_…), for a session bound to that tenant. Real
// Herald, real HTTP, both dialects.

const EXCHANGE = `mutation X($input: ExchangeClientTokenInput!) { exchangeClientToken(input: $input) { login { id username sessions { sessionKey expiresAt environment } } } }`;
const ORIGIN = 'https://shop.example.com';

for (const dialect of DIALECTS) {
  describe(`client tokens (${dialect})`, () => {
    let h: TestHerald;
    let sandboxPk: string;
    let productionPk: string;
    let acmeKey: string;
    before(async () => {
      h = await startHerald(dialect);
      for (const uid of ['acme', 'globex']) {
        assert.equal((await h.api('POST', '/v1/tenants', { name: uid, uid })).status, 201);
        assert.equal((await h.api('POST', `/v1/tenants/${uid}/customers`, { key: `cust-of-${uid}`, kind: 'person', email: `someone@${uid}.example.com` })).status, 201);
      }
      sandboxPk = (await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: [ORIGIN] })).body.key;
      productionPk = (await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: [ORIGIN] }, { key: h.productionKey })).body.key;
      acmeKey = (await h.api('POST', '/v1/keys', { tenant: 'acme' })).body.key;
      assert.match(sandboxPk, /^pk_test_/);
      assert.match(productionPk, /^pk_live_/);
    });
    after(async () => h?.close());

    const code = (r: { body: any }) => r.body?.errors?.[0]?.extensions?.code;
    const mint = async (tenant = 'acme', body: unknown = {}, key?: string) => h.api('POST', `/v1/tenants/${tenant}/client-tokens`, body, { key });
    const token = async (tenant = 'acme', key?: string) => {
      const r = await mint(tenant, {}, key);
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body.token as string;
    };
    /** The exchange as a browser sends it: with an Origin header unless told otherwise. */
    const exchange = async (clientToken: string, publicKey = sandboxPk, origin: string | null = ORIGIN) => {
      const res = await fetch(`${h.url}/graphql/api/public`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(origin ? { origin } : {}) },
        body: JSON.stringify({ query: EXCHANGE, variables: { input: { publicKey, clientToken } } }),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const sessionOf = (r: { body: any }) => r.body?.data?.exchangeClientToken?.login?.sessions?.[0]?.sessionKey as string | undefined;

    it('mints with an operator key and with the tenant\'s own key; another tenant\'s key is refused (403)', async () => {
      const op = await mint('acme', { ttlSeconds: 600, capabilities: ['endpoints'] });
      assert.equal(op.status, 201, JSON.stringify(op.body));
      assert.match(op.body.token, /^ct_/);
      const left = Date.parse(op.body.expiresAt) - Date.now();
      assert.ok(left > 500_000 && left <= 600_000, op.body.expiresAt);
      const byDefault = await mint('acme');
      const defaultLeft = Date.parse(byDefault.body.expiresAt) - Date.now();
      assert.ok(defaultLeft > 1_700_000 && defaultLeft <= 1_800_000, byDefault.body.expiresAt);
      assert.equal((await mint('acme', {}, acmeKey)).status, 201);
      assert.equal((await mint('acme', undefined)).status, 201, 'the body may be left out');
      const other = await mint('globex', {}, acmeKey);
      assert.equal(other.status, 403, JSON.stringify(other.body));
      assert.equal((await mint('acme', {}, sandboxPk)).status, 403, 'a public key mints nothing');
      assert.equal((await mint('no-such-tenant')).status, 404);
      for (const ttlSeconds of [0, 59, 86_401, 1.5]) assert.equal((await mint('acme', { ttlSeconds })).status, 400, `ttl ${ttlSeconds}`);
      // Only the hash is stored.
      const stored = await h.herald.db.all<{ token_hash: string }>('SELECT token_hash FROM client_tokens');
      assert.ok(stored.length >= 3 && stored.every((r) => !r.token_hash.startsWith('ct_') && r.token_hash !== op.body.token));
    });

    it('exchanges once for a session that sees its tenant only; the second exchange is UNAUTHENTICATED', async () => {
      const ct = await token('acme', acmeKey);
      const r = await exchange(ct);
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const key = sessionOf(r)!;
      assert.match(key, /^sess_/);
      assert.equal(r.body.data.exchangeClientToken.login.sessions[0].environment, 'SANDBOX');
      const viewer = await authed(h, key, '{ viewer { role environment tenant { uid } } }');
      assert.deepEqual(viewer.body.data.viewer, { role: 'TENANT', environment: 'SANDBOX', tenant: { uid: 'acme' } });
      const own = await authed(h, key, '{ customers { nodes { key } } }');
      assert.deepEqual(own.body.data.customers.nodes.map((c: { key: string }) => c.key), ['cust-of-acme']);
      const theirs = await authed(h, key, '{ customers(tenant: "globex") { nodes { key } } }');
      assert.equal(code(theirs), 'FORBIDDEN', JSON.stringify(theirs.body));
      assert.equal(code(await authed(h, key, '{ users { nodes { id } } }')), 'FORBIDDEN', 'never an operator');

      const again = await exchange(ct);
      assert.equal(code(again), 'UNAUTHENTICATED', JSON.stringify(again.body));
      assert.equal(code(await exchange('ct_unknown')), 'UNAUTHENTICATED');

      const audit = await h.herald.db.all<{ details: string }>("SELECT details FROM audit_log WHERE action = 'client_token.exchanged'");
      assert.ok(audit.some((a) => JSON.parse(a.details).origin === ORIGIN));
    });

    it('refreshes and logs out a client-token session like a person\'s', async () => {
      const key = sessionOf(await exchange(await token()))!;
      const refreshed = await authed(h, key, 'mutation { refreshSession { sessionKey } }');
      const next = refreshed.body.data.refreshSession.sessionKey;
      assert.equal(code(await authed(h, key, '{ viewer { id } }')), 'UNAUTHENTICATED');
      assert.equal((await authed(h, next, '{ viewer { tenant { uid } } }')).body.data.viewer.tenant.uid, 'acme');
    });

    it('an expired token is UNAUTHENTICATED', async () => {
      // Minted two hours in the past with the shortest lifetime: expired now, without waiting.
      const tenant = (await h.api('GET', '/v1/tenants/acme')).body;
      const env = (await h.herald.db.one<{ id: string }>("SELECT id FROM environments WHERE name = 'sandbox'"))!;
      const made = await mintClientToken(h.herald.db, { environmentId: env.id, tenantId: tenant.id, createdBy: null, request: { ttlSeconds: 60 }, now: Date.now() - 7_200_000 });
      assert.equal(code(await exchange(made.token)), 'UNAUTHENTICATED');
      // The same token minted now works: expiry, not the minting path, refused it.
      const fresh = await mintClientToken(h.herald.db, { environmentId: env.id, tenantId: tenant.id, createdBy: null, request: { ttlSeconds: 60 } });
      assert.ok(sessionOf(await exchange(fresh.token)));
    });

    it('a public key of the other environment, a revoked one, a secret key or a disallowed Origin is FORBIDDEN and leaves the token usable', async () => {
      const ct = await token();
      assert.equal(code(await exchange(ct, productionPk)), 'FORBIDDEN');
      const revoked = await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: [ORIGIN] });
      assert.equal((await h.api('DELETE', `/v1/keys/${revoked.body.id}`)).status, 204);
      assert.equal(code(await exchange(ct, revoked.body.key)), 'FORBIDDEN');
      assert.equal(code(await exchange(ct, h.sandboxKey)), 'FORBIDDEN', 'a secret key is not a public key');
      const globexPk = (await h.api('POST', '/v1/keys', { kind: 'public', tenant: 'globex', allowedOrigins: [ORIGIN] })).body.key;
      assert.equal(code(await exchange(ct, globexPk)), 'FORBIDDEN', 'a public key of another tenant');
      assert.equal(code(await exchange(ct, sandboxPk, 'https://evil.example.com')), 'FORBIDDEN');
      // A server-side exchange sends no Origin; the allowed one works too.
      assert.ok(sessionOf(await exchange(ct, sandboxPk, ORIGIN)));
      assert.ok(sessionOf(await exchange(await token(), sandboxPk, null)));
    });

    it('a production token needs a production public key', async () => {
      assert.equal((await h.api('POST', '/v1/tenants', { name: 'live', uid: 'live' }, { key: h.productionKey })).status, 201);
      const live = await token('live', h.productionKey);
      assert.equal(code(await exchange(live, sandboxPk)), 'FORBIDDEN');
      const r = await exchange(live, productionPk);
      assert.equal(r.body.data.exchangeClientToken.login.sessions[0].environment, 'PRODUCTION');
    });

    it('two concurrent exchanges of one token make exactly one session', async () => {
      for (let round = 0; round < 3; round++) {
        const ct = await token();
        const answers = await Promise.all([exchange(ct), exchange(ct), exchange(ct)]);
        const won = answers.filter((a) => sessionOf(a));
        assert.equal(won.length, 1, JSON.stringify(answers.map((a) => a.body)));
        assert.deepEqual(answers.filter((a) => !sessionOf(a)).map(code), ['UNAUTHENTICATED', 'UNAUTHENTICATED']);
        const tokenId = won[0]!.body.data.exchangeClientToken.login.id;
        const n = await h.herald.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM sessions WHERE client_token_id = $1', [tokenId]);
        assert.equal(Number(n!.n), 1);
      }
    });

    it('deletes tokens expired over a day ago, unless a session still names them', async () => {
      const tenant = (await h.api('GET', '/v1/tenants/acme')).body;
      const env = (await h.herald.db.one<{ id: string }>("SELECT id FROM environments WHERE name = 'sandbox'"))!;
      const old = await mintClientToken(h.herald.db, { environmentId: env.id, tenantId: tenant.id, createdBy: null, request: { ttlSeconds: 60 }, now: Date.now() - 3 * 86_400_000 });
      const exchanged = await mintClientToken(h.herald.db, { environmentId: env.id, tenantId: tenant.id, createdBy: null, request: { ttlSeconds: 60 } });
      const key = sessionOf(await exchange(exchanged.token))!;
      // Three days on, both tokens are long expired; the exchanged one keeps its live session.
      await deleteExpiredClientTokens(h.herald.db, Date.now() + 3 * 86_400_000);
      const left = (await h.herald.db.all<{ id: string }>('SELECT id FROM client_tokens')).map((r) => r.id);
      assert.ok(!left.includes(old.id), 'the unused expired token is gone');
      assert.ok(left.includes(exchanged.id), 'the token of a session stays');
      assert.equal((await authed(h, key, '{ viewer { tenant { uid } } }')).body.data.viewer.tenant.uid, 'acme');
    });

    it('a public key (or a client token) is not a session key', async () => {
      assert.equal(code(await authed(h, sandboxPk, '{ viewer { id } }')), 'UNAUTHENTICATED');
      assert.equal(code(await authed(h, await token(), '{ viewer { id } }')), 'UNAUTHENTICATED');
      assert.equal(code(await gql(h, 'authenticated', { query: '{ viewer { id } }' })), 'UNAUTHENTICATED');
    });
  });
}
