import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { authed, gql, logInAs, makeUser, PASSWORD, LOG_IN } from './helpers/graphql.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

// API keys through GraphQL (an operator's session) and REST's PATCH /v1/keys/:id: list, create,
// revoke, change a public key's allowed origins; refused to tenant and client-token sessions;
// every change in the audit log by the user (or key) that made it, never the key itself.

const KEY_FIELDS = 'id kind prefix name environment tenant { id uid } allowedOrigins createdAt lastUsedAt expiresAt revokedAt active';
const LIST = `query Keys($first: Int, $after: String) { apiKeys(first: $first, after: $after) { nodes { ${KEY_FIELDS} } pageInfo { hasNextPage endCursor } } }`;
const CREATE = `mutation Create($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { ${KEY_FIELDS} } } }`;
const REVOKE = `mutation Revoke($id: ID!) { revokeApiKey(id: $id) { ${KEY_FIELDS} } }`;
const ORIGINS = `mutation Origins($id: ID!, $origins: [String!]!) { setApiKeyOrigins(id: $id, allowedOrigins: $origins) { ${KEY_FIELDS} } }`;
const EXCHANGE = `mutation X($input: ExchangeClientTokenInput!) { exchangeClientToken(input: $input) { login { sessions { sessionKey } } } }`;

const code = (r: { body: any }) => r.body?.errors?.[0]?.extensions?.code;
const message = (r: { body: any }) => String(r.body?.errors?.[0]?.message ?? '');

for (const dialect of DIALECTS) {
  describe(`API keys through GraphQL and PATCH /v1/keys/:id (${dialect})`, () => {
    let h: TestHerald;
    let op: string;
    let opId: string;
    let acme: { id: string };
    before(async () => {
      h = await startHerald(dialect);
      acme = (await h.api('POST', '/v1/tenants', { uid: 'acme', name: 'Acme' })).body;
      const u = await makeUser(h, { role: 'operator' });
      opId = u.id;
      const r = await gql(h, 'public', {
        query: LOG_IN,
        variables: { input: { username: u.email, password: PASSWORD, totpCode: u.code(), environment: 'SANDBOX' } },
      });
      op = r.body.data.logIn.login.sessions[0].sessionKey;
    });
    after(() => h?.close());

    const create = async (input: Record<string, unknown>, session = op) => authed(h, session, CREATE, { input });
    const audit = () =>
      h.herald.db.all<{ actor: string; action: string; target: string; address: string | null; details: string }>(
        "SELECT actor, action, target, address, details FROM audit_log WHERE action LIKE 'key.%' ORDER BY id",
      );

    it('creates a secret key that works on REST, shown once, and lists it without the key', async () => {
      const r = await create({ name: 'deploy bot' });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
      const { key, apiKey } = r.body.data.createApiKey;
      assert.match(key, /^sk_test_/);
      assert.equal(apiKey.kind, 'SECRET');
      assert.equal(apiKey.prefix, key.slice(0, 12));
      assert.equal(apiKey.name, 'deploy bot');
      assert.equal(apiKey.environment, 'SANDBOX');
      assert.equal(apiKey.tenant, null);
      assert.deepEqual(apiKey.allowedOrigins, []);
      assert.equal(apiKey.active, true);
      assert.equal(apiKey.revokedAt, null);
      assert.equal((await h.api('GET', '/v1/tenants', undefined, { key })).status, 200, 'the new key works on REST');

      const list = await authed(h, op, LIST, { first: 100 });
      assert.equal(list.body.errors, undefined, JSON.stringify(list.body));
      const nodes = list.body.data.apiKeys.nodes;
      const text = JSON.stringify(list.body);
      for (const k of [key, h.sandboxKey]) assert.ok(!text.includes(k), 'a list never shows a key');
      assert.ok(!/[0-9a-f]{64}/.test(text), 'nor its hash');
      const listed = nodes.find((k: any) => k.id === apiKey.id);
      assert.equal(listed.name, 'deploy bot');
      assert.ok(listed.lastUsedAt, 'used once on REST: last used is recorded');
      assert.ok(
        nodes.some((k: any) => k.name === 'operator (first start)'),
        "the environment's first key is listed",
      );
      assert.ok(
        nodes.every((k: any) => k.environment === 'SANDBOX'),
        'a sandbox session lists sandbox keys only',
      );
      const prod = await authed(h, await logInAs(h, { environment: 'PRODUCTION' }), LIST, {});
      assert.ok(prod.body.data.apiKeys.nodes.every((k: any) => k.environment === 'PRODUCTION' && k.id !== apiKey.id));
    });

    it('pages the list with first and after', async () => {
      for (let i = 0; i < 3; i++) await create({ name: `page ${i}` });
      const one = await authed(h, op, LIST, { first: 2 });
      assert.equal(one.body.data.apiKeys.nodes.length, 2);
      assert.equal(one.body.data.apiKeys.pageInfo.hasNextPage, true);
      const two = await authed(h, op, LIST, { first: 2, after: one.body.data.apiKeys.pageInfo.endCursor });
      const ids = one.body.data.apiKeys.nodes.map((k: any) => k.id);
      assert.ok(two.body.data.apiKeys.nodes.every((k: any) => !ids.includes(k.id)));
      assert.equal(code(await authed(h, op, LIST, { after: 'nonsense' })), 'BAD_USER_INPUT');
    });

    it('creates a tenant-scoped public key with its origins, and changes them over GraphQL and REST', async () => {
      const r = await create({ kind: 'PUBLIC', tenant: 'acme', allowedOrigins: ['https://shop.example.com'] });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
      const { key, apiKey } = r.body.data.createApiKey;
      assert.match(key, /^pk_test_/);
      assert.equal(apiKey.kind, 'PUBLIC');
      assert.deepEqual(apiKey.tenant, { id: acme.id, uid: 'acme' });
      assert.deepEqual(apiKey.allowedOrigins, ['https://shop.example.com']);

      const changed = await authed(h, op, ORIGINS, { id: apiKey.id, origins: ['https://app.example.com', 'http://localhost:3000'] });
      assert.equal(changed.body.errors, undefined, JSON.stringify(changed.body));
      assert.deepEqual(changed.body.data.setApiKeyOrigins.allowedOrigins, ['https://app.example.com', 'http://localhost:3000']);
      // The embedded portal's frame takes the new origins at once.
      const frame = await fetch(`${h.url}/portal/embed?key=${key}`);
      assert.match(
        frame.headers.get('content-security-policy') ?? '',
        /frame-ancestors https:\/\/app\.example\.com http:\/\/localhost:3000/,
      );
      // A client token is exchanged from a new origin, and refused from the old one.
      const exchange = async (origin: string) => {
        const token = (await h.api('POST', '/v1/tenants/acme/client-tokens', {})).body.token;
        const res = await fetch(`${h.url}/graphql/api/public`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', origin },
          body: JSON.stringify({ query: EXCHANGE, variables: { input: { publicKey: key, clientToken: token } } }),
        });
        return { body: (await res.json()) as any };
      };
      assert.ok((await exchange('https://app.example.com')).body.data?.exchangeClientToken);
      assert.equal(code(await exchange('https://shop.example.com')), 'FORBIDDEN');

      // REST: the same change with an operator key.
      const patched = await h.api('PATCH', `/v1/keys/${apiKey.id}`, { allowedOrigins: ['https://shop.example.com'] });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.allowedOrigins, ['https://shop.example.com']);
      assert.equal(patched.body.id, apiKey.id);
      assert.equal(patched.body.key, undefined, 'never the key');
      assert.equal((await h.api('PATCH', '/v1/keys/key_nope', { allowedOrigins: ['https://a.example.com'] })).status, 404);
      const bad: [unknown, RegExp][] = [
        [{ allowedOrigins: [] }, /at least one allowed origin.*revoke the key/],
        [{ allowedOrigins: ['https://app.example.com/portal'] }, /not an origin.*here: "https:\/\/app\.example\.com"/],
        [{ allowedOrigins: ['https://*.example.com'] }, /wildcard/],
        [{}, /allowedOrigins/],
        [{ allowedOrigins: ['https://a.example.com'], kind: 'secret' }, /unknown field "kind"/],
      ];
      for (const [body, msg] of bad) {
        const res = await h.api('PATCH', `/v1/keys/${apiKey.id}`, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.match(res.body.error.message + JSON.stringify(res.body.error.details ?? ''), msg, JSON.stringify(body));
      }
      const prodKeyId = (await h.api('GET', '/v1/keys', undefined, { key: h.productionKey })).body.data[0].id;
      assert.equal(
        (await h.api('PATCH', `/v1/keys/${prodKeyId}`, { allowedOrigins: ['https://a.example.com'] })).status,
        404,
        'a key of the other environment is not found',
      );
    });

    it('refuses what would not work, saying what to do', async () => {
      const secret = (await create({})).body.data.createApiKey.apiKey;
      const cases: [Promise<{ body: any }>, string, RegExp][] = [
        [create({ kind: 'PUBLIC' }), 'BAD_USER_INPUT', /needs at least one allowed origin/],
        [create({ kind: 'PUBLIC', allowedOrigins: ['shop.example.com'] }), 'BAD_USER_INPUT', /not an origin; write scheme:\/\/host/],
        [create({ kind: 'PUBLIC', allowedOrigins: ['ftp://shop.example.com'] }), 'BAD_USER_INPUT', /must be http:\/\/ or https:\/\//],
        [create({ allowedOrigins: ['https://shop.example.com'] }), 'BAD_USER_INPUT', /public keys only/],
        [create({ tenant: 'nobody' }), 'NOT_FOUND', /tenant "nobody" was not found/],
        [create({ expiresInSeconds: 0 }), 'BAD_USER_INPUT', /whole number of seconds/],
        [create({ name: '' }), 'BAD_USER_INPUT', /1 to 200 characters/],
        [
          authed(h, op, ORIGINS, { id: secret.id, origins: ['https://a.example.com'] }),
          'BAD_USER_INPUT',
          /secret key: allowed origins apply to public keys only/,
        ],
        [authed(h, op, ORIGINS, { id: 'key_nope', origins: ['https://a.example.com'] }), 'NOT_FOUND', /key "key_nope" was not found/],
        [authed(h, op, REVOKE, { id: 'key_nope' }), 'NOT_FOUND', /key "key_nope" was not found/],
      ];
      for (const [answer, c, m] of cases) {
        const r = await answer;
        assert.equal(code(r), c, JSON.stringify(r.body));
        assert.match(message(r), m);
      }
    });

    it('revokes a key: REST refuses it at once, the list shows it revoked, origins cannot change', async () => {
      const made = (await create({ kind: 'PUBLIC', allowedOrigins: ['https://shop.example.com'] })).body.data.createApiKey;
      const secret = (await create({ name: 'to revoke' })).body.data.createApiKey;
      assert.equal((await h.api('GET', '/v1/tenants', undefined, { key: secret.key })).status, 200, 'cached as a live key');
      const r = await authed(h, op, REVOKE, { id: secret.apiKey.id });
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
      assert.equal(r.body.data.revokeApiKey.active, false);
      assert.ok(r.body.data.revokeApiKey.revokedAt);
      const refused = await h.api('GET', '/v1/tenants', undefined, { key: secret.key });
      assert.equal(refused.status, 401, 'revoked: 401 at once on this node');
      assert.match(refused.body.error.message, /revoked/);
      const again = await authed(h, op, REVOKE, { id: secret.apiKey.id });
      assert.equal(again.body.data.revokeApiKey.revokedAt, r.body.data.revokeApiKey.revokedAt, 'revoking twice keeps the first time');

      assert.equal((await authed(h, op, REVOKE, { id: made.apiKey.id })).body.errors, undefined);
      const late = await authed(h, op, ORIGINS, { id: made.apiKey.id, origins: ['https://a.example.com'] });
      assert.equal(code(late), 'BAD_USER_INPUT');
      assert.match(message(late), /is revoked.*make a new public key/);
      const listed = (await authed(h, op, LIST, { first: 100 })).body.data.apiKeys.nodes.find((k: any) => k.id === made.apiKey.id);
      assert.equal(listed.active, false);
      assert.ok(listed.revokedAt);
      // Of the other environment: not found, and untouched.
      const prodKeyId = (await h.api('GET', '/v1/keys', undefined, { key: h.productionKey })).body.data[0].id;
      assert.equal(code(await authed(h, op, REVOKE, { id: prodKeyId })), 'NOT_FOUND');
      assert.equal((await h.api('GET', '/v1/keys', undefined, { key: h.productionKey })).status, 200);
    });

    it('is for operators only: tenant and client-token sessions are refused', async () => {
      const tenantSession = await logInAs(h, { role: 'tenant', tenantId: acme.id });
      const pk = (await create({ kind: 'PUBLIC', allowedOrigins: ['https://shop.example.com'] })).body.data.createApiKey;
      const token = (await h.api('POST', '/v1/tenants/acme/client-tokens', {})).body.token;
      const exchanged = await gql(h, 'public', { query: EXCHANGE, variables: { input: { publicKey: pk.key, clientToken: token } } });
      const clientSession = exchanged.body.data.exchangeClientToken.login.sessions[0].sessionKey;
      for (const session of [tenantSession, clientSession]) {
        for (const [query, variables] of [
          [LIST, {}],
          [CREATE, { input: { name: 'sneaky' } }],
          [REVOKE, { id: pk.apiKey.id }],
          [ORIGINS, { id: pk.apiKey.id, origins: ['https://evil.example.com'] }],
        ] as const) {
          const r = await authed(h, session, query, variables);
          assert.equal(code(r), 'FORBIDDEN', JSON.stringify(r.body));
          assert.match(message(r), /scoped to one tenant; this call needs an operator session/);
        }
      }
      const still = (await authed(h, op, LIST, { first: 100 })).body.data.apiKeys.nodes;
      assert.ok(!still.some((k: any) => k.name === 'sneaky'));
      assert.deepEqual(still.find((k: any) => k.id === pk.apiKey.id).allowedOrigins, ['https://shop.example.com']);
      assert.equal(still.find((k: any) => k.id === pk.apiKey.id).active, true);
    });

    it('writes each change to the audit log by the user (or key) that made it, never the key', async () => {
      const made = (await create({ kind: 'PUBLIC', allowedOrigins: ['https://one.example.com'], name: 'audited' })).body.data.createApiKey;
      await authed(h, op, ORIGINS, { id: made.apiKey.id, origins: ['https://two.example.com'] });
      await h.api('PATCH', `/v1/keys/${made.apiKey.id}`, { allowedOrigins: ['https://three.example.com'] });
      await authed(h, op, REVOKE, { id: made.apiKey.id });
      const rows = (await audit()).filter((r) => r.target === made.apiKey.id);
      const me = (await h.api('GET', '/v1/keys?limit=250')).body.data.find((k: any) => k.name === 'operator (first start)');
      assert.deepEqual(
        rows.map((r) => [r.action, r.actor]),
        [
          ['key.created', opId],
          ['key.origins_changed', opId],
          ['key.origins_changed', me.id],
          ['key.revoked', opId],
        ],
      );
      const details = rows.map((r) => JSON.parse(r.details));
      assert.equal(details[0].kind, 'public');
      assert.deepEqual(details[0].allowedOrigins, ['https://one.example.com']);
      assert.match(details[0].session, /^ses_/, 'a session change names the session');
      assert.deepEqual([details[1].before, details[1].after], [['https://one.example.com'], ['https://two.example.com']]);
      assert.deepEqual([details[2].before, details[2].after], [['https://two.example.com'], ['https://three.example.com']]);
      assert.ok(
        rows.every((r) => r.address),
        'the address is kept',
      );
      const all = JSON.stringify(await h.herald.db.all('SELECT * FROM audit_log'));
      assert.ok(!all.includes(made.key), 'the audit log holds no key');

      // The operator reads them in auditLog.
      const log = await authed(h, op, '{ auditLog(first: 100) { nodes { action actor target } } }');
      assert.ok(log.body.data.auditLog.nodes.some((e: any) => e.action === 'key.origins_changed' && e.target === made.apiKey.id));
    });
  });
}
