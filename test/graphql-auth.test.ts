import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { authed, gql, LOG_IN, logInAs, makeUser, PASSWORD } from './helpers/graphql.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

// The GraphQL doors: logIn on the public endpoint, the session key in extensions on the
// authenticated one, and everything that refuses (codes, throttle, limits, batching, introspection,
// masked errors), over real HTTP against a real Herald.
for (const dialect of DIALECTS) {
  describe(`GraphQL sessions and refusals (${dialect})`, () => {
    let h: TestHerald;
    before(async () => {
      h = await startHerald(dialect);
    });
    after(async () => h?.close());

    const code = (r: { body: any }) => r.body?.errors?.[0]?.extensions?.code;
    const requestId = (r: { body: any }) => r.body?.errors?.[0]?.extensions?.requestId;

    it('logs in with a real TOTP code and answers the key at data.logIn.login.sessions[0].sessionKey', async () => {
      const u = await makeUser(h);
      const r = await gql(h, 'public', { query: LOG_IN, variables: { input: { username: u.email, password: PASSWORD, totpCode: u.code() } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      const login = r.body.data.logIn.login;
      assert.equal(login.id, u.id);
      assert.equal(login.username, u.email);
      assert.match(login.sessions[0].sessionKey, /^sess_/);
      assert.equal(login.sessions[0].environment, 'SANDBOX');
      assert.ok(Date.parse(login.sessions[0].expiresAt) > Date.now());
      const viewer = await authed(h, login.sessions[0].sessionKey, '{ viewer { id username role environment tenant { id } } }');
      assert.deepEqual(viewer.body.data.viewer, { id: u.id, username: u.email, role: 'OPERATOR', environment: 'SANDBOX', tenant: null });
    });

    it('logs in with a recovery code instead of the TOTP code', async () => {
      const u = await makeUser(h);
      const r = await gql(h, 'public', { query: LOG_IN, variables: { input: { username: u.email, password: PASSWORD, recoveryCode: u.recoveryCodes[0], environment: 'PRODUCTION' } } });
      assert.equal(r.body.data.logIn.login.sessions[0].environment, 'PRODUCTION');
    });

    it('refuses a wrong code, a wrong password and an unknown user alike: UNAUTHENTICATED with a requestId', async () => {
      const u = await makeUser(h);
      const wrong = u.code() === '000000' ? '111111' : '000000';
      for (const input of [
        { username: u.email, password: PASSWORD, totpCode: wrong },
        { username: u.email, password: 'not the password at all', totpCode: u.code() },
        { username: 'nobody@example.com', password: PASSWORD, totpCode: '123456' },
        { username: u.email, password: PASSWORD },
      ]) {
        const r = await gql(h, 'public', { query: LOG_IN, variables: { input } });
        assert.equal(code(r), 'UNAUTHENTICATED', JSON.stringify(r.body));
        assert.match(requestId(r), /^req_/);
        assert.equal(r.body.data, null);
      }
    });

    it('ten failed logIns in a row refuse the username, even with the right credentials: RATE_LIMITED', async () => {
      const u = await makeUser(h);
      for (let i = 0; i < 10; i++) {
        const r = await gql(h, 'public', { query: LOG_IN, variables: { input: { username: u.email, password: 'wrong password number ' + i, totpCode: '000000' } } });
        assert.equal(code(r), 'UNAUTHENTICATED');
      }
      const r = await gql(h, 'public', { query: LOG_IN, variables: { input: { username: u.email, password: PASSWORD, totpCode: u.code() } } });
      assert.equal(code(r), 'RATE_LIMITED', JSON.stringify(r.body));
      assert.ok(r.body.errors[0].extensions.retryAfterSeconds >= 60);
    });

    it('refuses the authenticated endpoint without a key, with an unknown key, and after logOut: UNAUTHENTICATED', async () => {
      assert.equal(code(await gql(h, 'authenticated', { query: '{ viewer { id } }' })), 'UNAUTHENTICATED');
      assert.equal(code(await authed(h, 'sess_not-a-real-key', '{ viewer { id } }')), 'UNAUTHENTICATED');
      const key = await logInAs(h);
      assert.ok((await authed(h, key, '{ viewer { id } }')).body.data.viewer.id);
      const out = await authed(h, key, 'mutation { logOut }');
      assert.equal(out.body.data.logOut, true);
      const r = await authed(h, key, '{ viewer { id } }');
      assert.equal(code(r), 'UNAUTHENTICATED');
      assert.match(requestId(r), /^req_/);
    });

    it('refuses an expired session: UNAUTHENTICATED', async () => {
      const key = await logInAs(h);
      assert.ok((await authed(h, key, '{ viewer { id } }')).body.data.viewer.id);
      // Twenty minutes pass: the session's absolute expiry moves into the past.
      const ended = await h.herald.db.run('UPDATE sessions SET expires_at = $1 WHERE key_prefix = $2', [Date.now() - 1, key.slice(0, 12)]);
      assert.equal(ended, 1);
      const r = await authed(h, key, '{ viewer { id } }');
      assert.equal(code(r), 'UNAUTHENTICATED');
      assert.match(r.body.errors[0].message, /expired/);
      assert.equal(code(await authed(h, key, 'mutation { refreshSession { sessionKey } }')), 'UNAUTHENTICATED', 'an expired session cannot be refreshed');
    });

    it('refreshSession answers a new key; the old one stops working', async () => {
      const key = await logInAs(h);
      const r = await authed(h, key, 'mutation { refreshSession { sessionKey expiresAt environment } }');
      const next = r.body.data.refreshSession;
      assert.match(next.sessionKey, /^sess_/);
      assert.notEqual(next.sessionKey, key);
      assert.equal(code(await authed(h, key, '{ viewer { id } }')), 'UNAUTHENTICATED');
      assert.ok((await authed(h, next.sessionKey, '{ viewer { id } }')).body.data.viewer.id);
    });

    it('refuses a query deeper than the depth limit, one with too many aliases and one that costs too much', async () => {
      const key = await logInAs(h);
      const useful = await authed(h, key, '{ events(tenant: "none") { nodes { deliveries { attempts { statusCode } } } } }');
      assert.ok(!JSON.stringify(useful.body).match(/depth/i), 'the deepest useful query is within the limit');
      let deep = 'id';
      for (let i = 0; i < 12; i++) deep = `f${i} { ${deep} }`;
      const tooDeep = await authed(h, key, `{ viewer { ${deep} } }`);
      assert.equal(code(tooDeep), 'BAD_USER_INPUT');
      assert.ok(tooDeep.body.errors.some((e: any) => /depth/i.test(e.message)), JSON.stringify(tooDeep.body));
      const aliases = Array.from({ length: 20 }, (_, i) => `v${i}: viewer { id }`).join(' ');
      const many = await authed(h, key, `{ ${aliases} }`);
      assert.equal(code(many), 'BAD_USER_INPUT', JSON.stringify(many.body));
      assert.match(many.body.errors[0].message, /alias/i);
      assert.match(requestId(many), /^req_/);
      const heavy = 'events(tenant: "none", first: 100) { nodes { id type status payload createdAt occurredAt deliveries { id endpointId status attemptCount lastStatusCode attempts { id attempt startedAt statusCode durationMs error } } } pageInfo { hasNextPage endCursor } }';
      const one = await authed(h, key, `{ ${heavy} }`);
      assert.ok(!/cost/i.test(JSON.stringify(one.body)), 'a full page of the heaviest list is within the cost limit');
      const costly = await authed(h, key, `{ ${Array.from({ length: 5 }, (_, i) => `e${i}: ${heavy}`).join(' ')} }`);
      assert.equal(code(costly), 'BAD_USER_INPUT', JSON.stringify(costly.body));
      assert.ok(costly.body.errors.some((e: any) => /cost/i.test(e.message)), JSON.stringify(costly.body));
    });

    it('refuses a batched array with a clear error', async () => {
      const r = await gql(h, 'public', [{ query: '{ ok }' }, { query: '{ ok }' }]);
      assert.equal(r.status, 400);
      assert.equal(code(r), 'BAD_USER_INPUT');
      assert.match(r.body.errors[0].message, /batched operations are not accepted/);
      assert.match(requestId(r), /^req_/);
    });

    it('answers a body that is not JSON, another content type and a GET in GraphQL error shape', async () => {
      const broken = await gql(h, 'authenticated', '{"query": "{ viewer { id }');
      assert.equal(broken.status, 400);
      assert.equal(code(broken), 'BAD_USER_INPUT');
      assert.match(broken.body.errors[0].message, /JSON/);
      assert.match(requestId(broken), /^req_/);
      const text = await fetch(`${h.url}/graphql/api/public`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"query":"{ ok }"}' });
      const textBody = (await text.json()) as any;
      assert.equal(text.status, 415);
      assert.equal(textBody.errors[0].extensions.code, 'BAD_USER_INPUT');
      const get = await fetch(`${h.url}/graphql/api/public?query=%7Bok%7D`);
      assert.equal(get.status, 405);
      assert.match(((await get.json()) as any).errors[0].message, /POSTed/);
    });

    it('refuses introspection and field suggestions on the public endpoint, allows introspection on the authenticated one', async () => {
      const pub = await gql(h, 'public', { query: '{ __schema { types { name } } }' });
      assert.equal(code(pub), 'BAD_USER_INPUT');
      assert.match(pub.body.errors[0].message, /introspection/i);
      assert.ok(!JSON.stringify(pub.body).includes('LogInInput'));
      const typo = await gql(h, 'public', { query: 'mutation { logon(input: {username: "a", password: "b"}) { login { id } } }' });
      assert.ok(typo.body.errors.length > 0);
      assert.ok(!/did you mean/i.test(JSON.stringify(typo.body)), JSON.stringify(typo.body));
      const key = await logInAs(h);
      const auth = await authed(h, key, '{ __schema { queryType { fields { name } } } }');
      const names = auth.body.data.__schema.queryType.fields.map((f: any) => f.name);
      for (const n of ['viewer', 'tenants', 'customers', 'eventTypes', 'endpoints', 'events', 'report', 'auditLog']) assert.ok(names.includes(n), n);
    });

    it('masks an internal error: a generic message with a requestId, the cause only in the log', async () => {
      const key = await logInAs(h);
      // A database failure inside a resolver is an internal error: drop a table the resolver reads.
      await h.herald.db.exec('ALTER TABLE audit_log RENAME TO audit_log_away');
      try {
        const r = await authed(h, key, '{ auditLog { nodes { id } } }');
        assert.equal(code(r), 'INTERNAL_SERVER_ERROR', JSON.stringify(r.body));
        assert.match(requestId(r), /^req_/);
        assert.match(r.body.errors[0].message, /something went wrong on our side/);
        assert.ok(!/audit_log/i.test(JSON.stringify(r.body)), 'the cause is not shown');
      } finally {
        await h.herald.db.exec('ALTER TABLE audit_log_away RENAME TO audit_log');
      }
    });
  });
}
