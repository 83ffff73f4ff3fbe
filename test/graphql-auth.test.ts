import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { totpCode } from '../src/accounts/totp.js';
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
      const r = await gql(h, 'public', {
        query: LOG_IN,
        variables: { input: { username: u.email, password: PASSWORD, totpCode: u.code() } },
      });
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
      const r = await gql(h, 'public', {
        query: LOG_IN,
        variables: { input: { username: u.email, password: PASSWORD, recoveryCode: u.recoveryCodes[0], environment: 'PRODUCTION' } },
      });
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
        const r = await gql(h, 'public', {
          query: LOG_IN,
          variables: { input: { username: u.email, password: 'wrong password number ' + i, totpCode: '000000' } },
        });
        assert.equal(code(r), 'UNAUTHENTICATED');
      }
      const r = await gql(h, 'public', {
        query: LOG_IN,
        variables: { input: { username: u.email, password: PASSWORD, totpCode: u.code() } },
      });
      assert.equal(code(r), 'RATE_LIMITED', JSON.stringify(r.body));
      assert.ok(r.body.errors[0].extensions.retryAfterSeconds >= 60);
    });

    describe('first-login enrolment', () => {
      const LOG_IN_OR_ENROL = `mutation LogIn($input: LogInInput!) {
        logIn(input: $input) {
          login { id username sessions { sessionKey expiresAt environment } }
          enrolment { ticket totpSecret otpauthUri qrSvgDataUrl expiresAt }
        }
      }`;
      const COMPLETE = `mutation Complete($input: CompleteEnrolmentInput!) {
        completeEnrolment(input: $input) { login { id username sessions { sessionKey expiresAt environment } } recoveryCodes }
      }`;
      const CREATE = `mutation Create($input: CreateUserInput!) {
        createUser(input: $input) { user { id email enrolled } totpSecret otpauthUri qrCode recoveryCodes }
      }`;
      const now = (offsetSteps = 0) => Math.floor(Date.now() / 1000) + offsetSteps * 30;
      let n = 0;

      /** An operator creates a person to enrol at first login, over GraphQL. */
      async function createToEnrol(): Promise<{ id: string; email: string }> {
        const operator = await logInAs(h);
        const email = `enrol${++n}-${Math.random().toString(36).slice(2, 6)}@example.com`;
        const r = await authed(h, operator, CREATE, { input: { email, role: 'OPERATOR', password: PASSWORD, enrolAtFirstLogin: true } });
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
        const made = r.body.data.createUser;
        assert.deepEqual(
          { ...made, user: { ...made.user, id: undefined } },
          { user: { id: undefined, email, enrolled: false }, totpSecret: null, otpauthUri: null, qrCode: null, recoveryCodes: [] },
          'no second factor is made, so none is shown to the operator',
        );
        return { id: made.user.id, email };
      }
      const logInBody = (input: Record<string, unknown>) => gql(h, 'public', { query: LOG_IN_OR_ENROL, variables: { input } });
      const completeBody = (input: Record<string, unknown>) => gql(h, 'public', { query: COMPLETE, variables: { input } });

      it('answers a challenge and no session, then a session and ten recovery codes for the first code; after that logIn needs a code', async () => {
        const u = await createToEnrol();
        const r = await logInBody({ username: u.email, password: PASSWORD });
        assert.equal(r.body.errors, undefined, JSON.stringify(r.body));
        assert.equal(r.body.data.logIn.login, null, 'no session yet');
        const e = r.body.data.logIn.enrolment;
        assert.match(e.ticket, /^enr_/);
        assert.match(e.totpSecret, /^[A-Z2-7]{32}$/);
        assert.ok(e.otpauthUri.startsWith('otpauth://totp/Herald:') && e.otpauthUri.includes(`secret=${e.totpSecret}`));
        assert.ok(e.qrSvgDataUrl.startsWith('data:image/svg+xml;base64,'));
        const ttl = Date.parse(e.expiresAt) - Date.now();
        assert.ok(ttl > 9 * 60_000 && ttl <= 10 * 60_000, `expires in 10 minutes, not ${ttl} ms`);
        const sessions = await h.herald.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1', [u.id]);
        assert.equal(Number(sessions!.n), 0);

        const done = await completeBody({ ticket: e.ticket, totpCode: totpCode(e.totpSecret, now()) });
        assert.equal(done.body.errors, undefined, JSON.stringify(done.body));
        const { login, recoveryCodes } = done.body.data.completeEnrolment;
        assert.equal(login.id, u.id);
        assert.equal(login.username, u.email);
        assert.equal(login.sessions[0].environment, 'SANDBOX');
        assert.equal(recoveryCodes.length, 10);
        const viewer = await authed(h, login.sessions[0].sessionKey, '{ viewer { id username } }');
        assert.deepEqual(viewer.body.data.viewer, { id: u.id, username: u.email });

        // Enrolled: a logIn without a code is refused, with one (a later step than the enrolment's) it works.
        const without = await logInBody({ username: u.email, password: PASSWORD });
        assert.equal(code(without), 'UNAUTHENTICATED');
        const withCode = await logInBody({ username: u.email, password: PASSWORD, totpCode: totpCode(e.totpSecret, now(1)) });
        assert.match(withCode.body.data.logIn.login.sessions[0].sessionKey, /^sess_/);
        assert.equal(withCode.body.data.logIn.enrolment, null);
        const withRecovery = await logInBody({ username: u.email, password: PASSWORD, recoveryCode: recoveryCodes[0] });
        assert.match(withRecovery.body.data.logIn.login.sessions[0].sessionKey, /^sess_/);

        // The ticket worked once.
        const again = await completeBody({ ticket: e.ticket, totpCode: totpCode(e.totpSecret, now(1)) });
        assert.equal(code(again), 'UNAUTHENTICATED');
        assert.match(again.body.errors[0].message, /unknown, used or expired/);
      });

      it('refuses a wrong code (UNAUTHENTICATED, the ticket still usable), an expired ticket and a made-up one', async () => {
        const u = await createToEnrol();
        const e = (await logInBody({ username: u.email, password: PASSWORD })).body.data.logIn.enrolment;
        const right = totpCode(e.totpSecret, now());
        const wrong = await completeBody({ ticket: e.ticket, totpCode: right === '000000' ? '111111' : '000000' });
        assert.equal(code(wrong), 'UNAUTHENTICATED');
        assert.match(requestId(wrong), /^req_/);
        const failed = await h.herald.db.one<{ n: number }>(
          "SELECT COUNT(*) AS n FROM audit_log WHERE target = $1 AND action = 'login.failed' AND details LIKE '%bad_enrolment_code%'",
          [u.id],
        );
        assert.equal(Number(failed!.n), 1, 'a wrong code is a failed login');

        // Ten minutes pass: the ticket expires.
        await h.herald.db.run('UPDATE enrolment_tickets SET expires_at = $1 WHERE user_id = $2', [Date.now() - 1, u.id]);
        const expired = await completeBody({ ticket: e.ticket, totpCode: right });
        assert.equal(code(expired), 'UNAUTHENTICATED');
        const madeUp = await completeBody({ ticket: 'enr_' + 'x'.repeat(43), totpCode: right });
        assert.equal(code(madeUp), 'UNAUTHENTICATED');
        // A new logIn gives a new ticket, which works.
        const e2 = (await logInBody({ username: u.email, password: PASSWORD })).body.data.logIn.enrolment;
        const ok = await completeBody({ ticket: e2.ticket, totpCode: totpCode(e2.totpSecret, now()) });
        assert.match(ok.body.data.completeEnrolment.login.sessions[0].sessionKey, /^sess_/);
      });

      it('answers a wrong password exactly as for a user with a second factor', async () => {
        const toBe = await createToEnrol();
        const enrolled = await makeUser(h);
        const answers = [];
        for (const username of [enrolled.email, toBe.email]) {
          const r = await logInBody({ username, password: 'not the password at all' });
          answers.push({ status: r.status, data: r.body.data, message: r.body.errors[0].message, code: code(r) });
        }
        assert.deepEqual(answers[1], answers[0]);
        assert.equal(answers[0].code, 'UNAUTHENTICATED');
      });

      it('resetMfa with enrolAtNextLogin makes the user enrol again', async () => {
        const operator = await logInAs(h);
        const u = await makeUser(h);
        const reset = await authed(
          h,
          operator,
          'mutation R($id: ID!) { resetMfa(id: $id, enrolAtNextLogin: true) { user { enrolled } totpSecret recoveryCodes } }',
          {
            id: u.id,
          },
        );
        assert.deepEqual(reset.body.data.resetMfa, { user: { enrolled: false }, totpSecret: null, recoveryCodes: [] });
        const r = await logInBody({ username: u.email, password: PASSWORD, totpCode: u.code() });
        assert.match(r.body.data.logIn.enrolment.ticket, /^enr_/);
      });
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
      assert.equal(
        code(await authed(h, key, 'mutation { refreshSession { sessionKey } }')),
        'UNAUTHENTICATED',
        'an expired session cannot be refreshed',
      );
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
      assert.ok(
        tooDeep.body.errors.some((e: any) => /depth/i.test(e.message)),
        JSON.stringify(tooDeep.body),
      );
      const aliases = Array.from({ length: 20 }, (_, i) => `v${i}: viewer { id }`).join(' ');
      const many = await authed(h, key, `{ ${aliases} }`);
      assert.equal(code(many), 'BAD_USER_INPUT', JSON.stringify(many.body));
      assert.match(many.body.errors[0].message, /alias/i);
      assert.match(requestId(many), /^req_/);
      const heavy =
        'events(tenant: "none", first: 100) { nodes { id type status payload createdAt occurredAt deliveries { id endpointId status attemptCount lastStatusCode attempts { id attempt startedAt statusCode durationMs error } } } pageInfo { hasNextPage endCursor } }';
      const one = await authed(h, key, `{ ${heavy} }`);
      assert.ok(!/cost/i.test(JSON.stringify(one.body)), 'a full page of the heaviest list is within the cost limit');
      const costly = await authed(h, key, `{ ${Array.from({ length: 5 }, (_, i) => `e${i}: ${heavy}`).join(' ')} }`);
      assert.equal(code(costly), 'BAD_USER_INPUT', JSON.stringify(costly.body));
      assert.ok(
        costly.body.errors.some((e: any) => /cost/i.test(e.message)),
        JSON.stringify(costly.body),
      );
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
      const text = await fetch(`${h.url}/graphql/api/public`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain' },
        body: '{"query":"{ ok }"}',
      });
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
      for (const n of ['viewer', 'tenants', 'customers', 'eventTypes', 'endpoints', 'events', 'report', 'auditLog'])
        assert.ok(names.includes(n), n);
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
