import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { deleteExpiredClientTokens, mintClientToken } from '../src/keys/clientTokens.js';
import { DIALECTS } from './helpers/db.js';
import { authed, gql, logInAs } from './helpers/graphql.js';
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
        assert.equal(
          (
            await h.api('POST', `/v1/tenants/${uid}/customers`, {
              key: `cust-of-${uid}`,
              kind: 'person',
              email: `someone@${uid}.example.com`,
            })
          ).status,
          201,
        );
      }
      sandboxPk = (await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: [ORIGIN] })).body.key;
      productionPk = (await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: [ORIGIN] }, { key: h.productionKey })).body.key;
      acmeKey = (await h.api('POST', '/v1/keys', { tenant: 'acme' })).body.key;
      assert.match(sandboxPk, /^pk_test_/);
      assert.match(productionPk, /^pk_live_/);
    });
    after(async () => h?.close());

    const code = (r: { body: any }) => r.body?.errors?.[0]?.extensions?.code;
    const mint = async (tenant = 'acme', body: unknown = {}, key?: string) =>
      h.api('POST', `/v1/tenants/${tenant}/client-tokens`, body, { key });
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

    it("mints with an operator key and with the tenant's own key; another tenant's key is refused (403)", async () => {
      const op = await mint('acme', { ttlSeconds: 600, capabilities: ['endpoints:read'] });
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
      assert.deepEqual(
        own.body.data.customers.nodes.map((c: { key: string }) => c.key),
        ['cust-of-acme'],
      );
      const theirs = await authed(h, key, '{ customers(tenant: "globex") { nodes { key } } }');
      assert.equal(code(theirs), 'FORBIDDEN', JSON.stringify(theirs.body));
      assert.equal(code(await authed(h, key, '{ users { nodes { id } } }')), 'FORBIDDEN', 'never an operator');

      const again = await exchange(ct);
      assert.equal(code(again), 'UNAUTHENTICATED', JSON.stringify(again.body));
      assert.equal(code(await exchange('ct_unknown')), 'UNAUTHENTICATED');

      const audit = await h.herald.db.all<{ details: string }>("SELECT details FROM audit_log WHERE action = 'client_token.exchanged'");
      assert.ok(audit.some((a) => JSON.parse(a.details).origin === ORIGIN));
    });

    it("refreshes and logs out a client-token session like a person's", async () => {
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
      const made = await mintClientToken(h.herald.db, {
        environmentId: env.id,
        tenantId: tenant.id,
        createdBy: null,
        request: { ttlSeconds: 60 },
        now: Date.now() - 7_200_000,
      });
      assert.equal(code(await exchange(made.token)), 'UNAUTHENTICATED');
      // The same token minted now works: expiry, not the minting path, refused it.
      const fresh = await mintClientToken(h.herald.db, {
        environmentId: env.id,
        tenantId: tenant.id,
        createdBy: null,
        request: { ttlSeconds: 60 },
      });
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
        const tokenId = won[0].body.data.exchangeClientToken.login.id;
        const n = await h.herald.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM sessions WHERE client_token_id = $1', [tokenId]);
        assert.equal(Number(n!.n), 1);
      }
    });

    it('deletes tokens expired over a day ago, unless a session still names them', async () => {
      const tenant = (await h.api('GET', '/v1/tenants/acme')).body;
      const env = (await h.herald.db.one<{ id: string }>("SELECT id FROM environments WHERE name = 'sandbox'"))!;
      const old = await mintClientToken(h.herald.db, {
        environmentId: env.id,
        tenantId: tenant.id,
        createdBy: null,
        request: { ttlSeconds: 60 },
        now: Date.now() - 3 * 86_400_000,
      });
      const exchanged = await mintClientToken(h.herald.db, {
        environmentId: env.id,
        tenantId: tenant.id,
        createdBy: null,
        request: { ttlSeconds: 60 },
      });
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

// Capabilities: what a client-token session may do. Each operation below needs the capabilities
// listed with it (docs/graphql.md); a write capability includes the read of the same things.
const CAPABILITY_NAMES = [
  'customers:read',
  'customers:write',
  'billing:read',
  'endpoints:read',
  'endpoints:write',
  'events:read',
  'events:resend',
  'reports:read',
  'sources:read',
];
const INCLUDED_IN: Record<string, string[]> = { 'customers:read': ['customers:write'], 'endpoints:read': ['endpoints:write'] };

/**
 * One operation per capability, each run for real (and runnable again) against acme's own data.
 * TENANT is where an operator names the tenant; a tenant's session leaves it out.
 */
const OPERATIONS: Record<string, { needs: string[]; query: string; variables?: (ids: Record<string, string>) => Record<string, unknown> }> =
  {
    'customers:read': { needs: ['customers:read'], query: '{ customers TENANT { nodes { key } } }' },
    'customers:write': {
      needs: ['customers:write'],
      query: 'mutation S($id: ID!) { saveCustomData(customerId: $id, data: {seen: true}) { key } }',
      variables: (ids) => ({ id: ids.customer }),
    },
    'billing:read': {
      needs: ['customers:read', 'billing:read'],
      query: '{ customers TENANT { nodes { subscriptions { nodes { id } } refunds { nodes { id } } } } }',
    },
    'endpoints:read': { needs: ['endpoints:read'], query: '{ endpoints TENANT { id url } }' },
    'endpoints:write': {
      needs: ['endpoints:write'],
      query: 'mutation U($id: ID!) { updateEndpoint(id: $id, input: {description: "changed by a client token"}) { id } }',
      variables: (ids) => ({ id: ids.endpoint }),
    },
    'events:read': { needs: ['events:read'], query: '{ events TENANT { nodes { id deliveries { id attempts { statusCode } } } } }' },
    'events:resend': {
      needs: ['events:resend'],
      query: 'mutation R($id: ID!) { recoverEndpoint(endpointId: $id, since: "2020-01-01T00:00:00Z") { status } }',
      variables: (ids) => ({ id: ids.endpoint }),
    },
    'reports:read': { needs: ['reports:read'], query: '{ report TENANT { totals { accepted } } }' },
    'sources:read': { needs: ['sources:read'], query: '{ sources TENANT { id } inboundMessages TENANT { nodes { id } } }' },
  };
/** What every session may do, whatever its capabilities. */
const SESSION_OPERATIONS = ['{ viewer { role tenant { uid } } }', '{ tenants { nodes { uid } } }', '{ eventTypes { name } }'];

for (const dialect of DIALECTS) {
  describe(`client-token capabilities (${dialect})`, () => {
    let h: TestHerald;
    let pk: string;
    const ids: Record<string, string> = {};
    before(async () => {
      h = await startHerald(dialect);
      assert.equal((await h.api('POST', '/v1/tenants', { name: 'acme', uid: 'acme' })).status, 201);
      const c = await h.api('POST', '/v1/tenants/acme/customers', { key: 'cust-1', kind: 'person' });
      const e = await h.api('POST', '/v1/tenants/acme/endpoints', { url: 'http://127.0.0.1:9/hook' });
      pk = (await h.api('POST', '/v1/keys', { kind: 'public', allowedOrigins: [ORIGIN] })).body.key;
      assert.deepEqual([c.status, e.status], [201, 201], JSON.stringify([c.body, e.body]));
      ids.customer = c.body.id;
      ids.endpoint = e.body.id;
    });
    after(async () => h?.close());

    const mint = (capabilities?: unknown) =>
      h.api('POST', '/v1/tenants/acme/client-tokens', capabilities === undefined ? {} : { capabilities });
    /** A session for a token minted with `capabilities` (left out when undefined). */
    const sessionWith = async (capabilities?: string[]) => {
      const m = await mint(capabilities);
      assert.equal(m.status, 201, JSON.stringify(m.body));
      const r = await gql(h, 'public', { query: EXCHANGE, variables: { input: { publicKey: pk, clientToken: m.body.token } } });
      const key = r.body?.data?.exchangeClientToken?.login?.sessions?.[0]?.sessionKey as string | undefined;
      assert.ok(key, JSON.stringify(r.body));
      return key;
    };
    const run = (key: string, op: string, tenant = '') =>
      authed(h, key, OPERATIONS[op].query.replaceAll('TENANT', tenant), OPERATIONS[op].variables?.(ids) ?? {});
    const firstError = (r: { body: any }) => r.body?.errors?.[0] as { message: string; extensions: { code: string } } | undefined;

    it('a token with ["events:read"] reads events and is FORBIDDEN createEndpoint, naming the missing capability', async () => {
      const key = await sessionWith(['events:read']);
      const events = await run(key, 'events:read');
      assert.equal(events.body.errors, undefined, JSON.stringify(events.body));
      assert.ok(Array.isArray(events.body.data.events.nodes));
      const create = await authed(
        h,
        key,
        'mutation { createEndpoint(input: {url: "https://hooks.example.com/x"}) { endpoint { id } secret } }',
      );
      assert.equal(firstError(create)?.extensions.code, 'FORBIDDEN', JSON.stringify(create.body));
      assert.match(firstError(create)!.message, /lacks the "endpoints:write" capability \(it has: events:read\)/);
      const secret = await authed(h, key, `{ endpointSecret(endpointId: "${ids.endpoint}") }`);
      assert.match(firstError(secret)?.message ?? '', /"endpoints:write"/, 'revealing the signing secret needs endpoints:write');
      // Refused before anything ran: no endpoint was made.
      assert.equal((await h.api('GET', '/v1/tenants/acme/endpoints')).body.data.length, 1);
      for (const q of SESSION_OPERATIONS) assert.equal((await authed(h, key, q)).body.errors, undefined, q);
    });

    it("a refreshed session keeps its token's capabilities", async () => {
      const key = await sessionWith(['events:read']);
      const next = (await authed(h, key, 'mutation { refreshSession { sessionKey } }')).body.data.refreshSession.sessionKey as string;
      assert.equal((await run(next, 'events:read')).body.errors, undefined);
      assert.equal(firstError(await run(next, 'endpoints:write'))?.extensions.code, 'FORBIDDEN');
    });

    it('each capability is needed by its operations and by no other', async () => {
      for (const missing of CAPABILITY_NAMES) {
        // Everything but `missing` (and what includes it): only operations needing those are refused.
        const without = new Set([missing, ...(INCLUDED_IN[missing] ?? [])]);
        const held = CAPABILITY_NAMES.filter((c) => !without.has(c));
        const key = await sessionWith(held);
        for (const op of Object.keys(OPERATIONS)) {
          const r = await run(key, op);
          const lacking = OPERATIONS[op].needs.filter((n) => without.has(n));
          if (lacking.length) {
            assert.equal(firstError(r)?.extensions.code, 'FORBIDDEN', `without ${missing}, ${op}: ${JSON.stringify(r.body)}`);
            assert.ok(
              lacking.some((n) => firstError(r)!.message.includes(`lacks the "${n}" capability`)),
              firstError(r)!.message,
            );
          } else {
            assert.equal(r.body.errors, undefined, `without ${missing}, ${op}: ${JSON.stringify(r.body)}`);
          }
        }
      }
    });

    it('a write capability includes the read of the same things, and nothing else', async () => {
      const key = await sessionWith(['customers:write', 'endpoints:write']);
      for (const op of ['customers:read', 'customers:write', 'endpoints:read', 'endpoints:write'])
        assert.equal((await run(key, op)).body.errors, undefined, op);
      for (const op of ['billing:read', 'events:read', 'events:resend', 'reports:read', 'sources:read'])
        assert.equal(firstError(await run(key, op))?.extensions.code, 'FORBIDDEN', op);
    });

    it('no capabilities given: every tenant operation, as before capabilities existed', async () => {
      const key = await sessionWith(undefined);
      for (const op of Object.keys(OPERATIONS)) assert.equal((await run(key, op)).body.errors, undefined, op);
      const created = await authed(h, key, 'mutation { createPerson(input: {key: "made-by-token"}) { key } }');
      assert.equal(created.body.data?.createPerson?.key, 'made-by-token', JSON.stringify(created.body));
      // Still a tenant's session: operator operations stay refused.
      assert.equal(firstError(await authed(h, key, '{ auditLog { nodes { id } } }'))?.extensions.code, 'FORBIDDEN');
      const stored = await h.herald.db.one<{ capabilities: string }>('SELECT capabilities FROM sessions WHERE key_hash = $1', [
        createHash('sha256').update(key).digest('hex'),
      ]);
      assert.deepEqual(JSON.parse(stored!.capabilities), CAPABILITY_NAMES, 'the session stores them all');
    });

    it('an unknown capability, or none, is refused at mint with the known ones listed (400)', async () => {
      for (const bad of [['events:read', 'endpoints'], ['everything'], ['EVENTS:READ']]) {
        const r = await mint(bad);
        assert.equal(r.status, 400, JSON.stringify(r.body));
        for (const known of CAPABILITY_NAMES) assert.ok(r.body.error.message.includes(known), r.body.error.message);
      }
      const empty = await mint([]);
      assert.equal(empty.status, 400, 'an empty list would otherwise read as everything');
      assert.match(empty.body.error.message, /leave capabilities out/);
      const dup = await mint(['events:read', 'events:read', 'customers:read']);
      assert.equal(dup.status, 201, JSON.stringify(dup.body));
      // Recorded named once each, in the vocabulary's order.
      const audit = await h.herald.db.all<{ details: string }>("SELECT details FROM audit_log WHERE action = 'client_token.minted'");
      assert.ok(
        audit.some((a) => JSON.stringify(JSON.parse(a.details).capabilities) === '["customers:read","events:read"]'),
        JSON.stringify(audit),
      );
    });

    it("a person's session is not limited by capabilities", async () => {
      const acme = (await h.api('GET', '/v1/tenants/acme')).body.id as string;
      const tenantUser = await logInAs(h, { role: 'tenant', tenantId: acme });
      const operator = await logInAs(h, { role: 'operator' });
      for (const key of [tenantUser, operator]) {
        for (const op of Object.keys(OPERATIONS)) {
          const r = await run(key, op, '(tenant: "acme")');
          assert.equal(r.body.errors, undefined, `${op}: ${JSON.stringify(r.body)}`);
        }
      }
      const stored = await h.herald.db.all<{ capabilities: string | null }>('SELECT capabilities FROM sessions WHERE user_id IS NOT NULL');
      assert.ok(stored.length >= 2 && stored.every((s) => s.capabilities === null));
    });
  });
}
