import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listAudit } from '../src/accounts/audit.js';
import { ENROLMENT_TICKET_TTL_MS } from '../src/accounts/enrolment.js';
import { completeEnrolment, logIn, logInOrEnrol, type AccountsDeps, type LogInInput } from '../src/accounts/logIn.js';
import { ADDRESS_FAILURE_LIMIT, ADDRESS_WINDOW_MS, USERNAME_FAILURE_LIMIT, USERNAME_LOCK_MS } from '../src/accounts/loginThrottle.js';
import { checkPassword, hashPassword, verifyPassword } from '../src/accounts/passwords.js';
import { normalizeRecoveryCode } from '../src/accounts/recoveryCodes.js';
import { deleteExpiredSessions, findSession, logOut, refreshSession } from '../src/accounts/sessions.js';
import { base32Decode, base32Encode, matchTotp, newTotpSecret, otpauthUri, totpCode, totpQrCode } from '../src/accounts/totp.js';
import { clearMfa, createUser, createUserToEnrol, disableUser, enableUser, listUsers, resetMfa } from '../src/accounts/users.js';
import { loadConfig } from '../src/config.js';
import type { Db } from '../src/db/db.js';
import { migrate } from '../src/db/migrate.js';
import { HeraldError } from '../src/errors.js';
import { bootstrapEnvironments } from '../src/keys/environments.js';
import { resealSecrets } from '../src/secrets/resealSecrets.js';
import { SecretBox } from '../src/secrets/secretBox.js';
import { createTenant } from '../src/tenants/tenants.js';
import { DIALECTS, freshDatabase, TEST_SECRET_KEY, type TestDatabase } from './helpers/db.js';

const PASSWORD = 'correct horse battery staple';
const CLI = { actor: 'cli' };

/** The RFC 6238 appendix B key for SHA-1: the 20 ASCII bytes "12345678901234567890". */
const RFC_KEY = new TextEncoder().encode('12345678901234567890');

/** Asserts that `p` is refused with this HeraldError code; answers the error. */
async function refused(p: Promise<unknown>, code: HeraldError['code']): Promise<HeraldError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof HeraldError, `a HeraldError, got ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
  }
  assert.fail(`expected a refusal with ${code}`);
}

describe('TOTP (RFC 6238)', () => {
  it('gives the SHA-1 test vectors of RFC 6238 appendix B', () => {
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [t, code] of vectors) {
      assert.equal(totpCode(RFC_KEY, t, 8), code, `T=${t}`);
      // The same key as an authenticator app would hold it: base32.
      assert.equal(totpCode('GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', t, 8), code, `T=${t}, base32 key`);
    }
    assert.equal(totpCode(RFC_KEY, 59), '287082', 'six digits are the last six of eight');
  });

  it('encodes and decodes base32 (RFC 4648 vectors), and makes 160-bit secrets', () => {
    for (const [plain, encoded] of [
      ['', ''],
      ['f', 'MY'],
      ['fo', 'MZXQ'],
      ['foo', 'MZXW6'],
      ['foob', 'MZXW6YQ'],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI'],
    ]) {
      assert.equal(base32Encode(Buffer.from(plain)), encoded);
      assert.equal(base32Decode(encoded).toString(), plain);
      assert.equal(base32Decode(encoded.toLowerCase() + '====').toString(), plain);
    }
    const secret = newTotpSecret();
    assert.match(secret, /^[A-Z2-7]{32}$/);
    assert.equal(base32Decode(secret).length, 20);
    assert.notEqual(newTotpSecret(), secret);
  });

  it('accepts the code of the step before, the current one and the one after, and no other', () => {
    const secret = 'JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP';
    const t = 1_700_000_010; // 10 s into a step
    const step = Math.floor(t / 30);
    const at = (s: number) => totpCode(secret, s * 30 + 5);
    assert.equal(matchTotp(secret, at(step), t * 1000), step);
    assert.equal(matchTotp(secret, at(step - 1), t * 1000), step - 1);
    assert.equal(matchTotp(secret, at(step + 1), t * 1000), step + 1);
    assert.equal(matchTotp(secret, at(step - 2), t * 1000), undefined);
    assert.equal(matchTotp(secret, at(step + 2), t * 1000), undefined);
    assert.equal(matchTotp(secret, 'abcdef', t * 1000), undefined);
    assert.equal(matchTotp(secret, at(step).slice(0, 3) + ' ' + at(step).slice(3), t * 1000), step, 'a space inside the code is ignored');
  });

  it('makes an otpauth URI and a QR code for enrolment', async () => {
    const uri = otpauthUri('JBSWY3DPEHPK3PXP', 'ana@example.com');
    assert.match(uri, /^otpauth:\/\/totp\/Herald:ana%40example\.com\?/);
    assert.match(uri, /secret=JBSWY3DPEHPK3PXP/);
    assert.match(uri, /issuer=Herald/);
    assert.match(uri, /algorithm=SHA1&digits=6&period=30/);
    const qr = await totpQrCode(uri);
    assert.match(qr.svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.ok(qr.dataUrl.startsWith('data:image/svg+xml;base64,'));
  });
});

describe('passwords', () => {
  it('needs at least 12 characters, says so, and hashes with argon2id at OWASP parameters', async () => {
    assert.throws(
      () => checkPassword('elevenchars'),
      (e: HeraldError) => e.code === 'bad_request' && /11 characters.*at least 12/.test(e.message),
    );
    assert.throws(() => checkPassword(' '.repeat(20)), /only spaces/);
    assert.throws(() => checkPassword('x'.repeat(1025)), /at most 1024/);
    assert.equal(checkPassword('twelve chars'), 'twelve chars');
    const hash = await hashPassword(PASSWORD);
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    assert.ok(await verifyPassword(hash, PASSWORD));
    assert.ok(!(await verifyPassword(hash, PASSWORD + '!')));
    // The same password typed with a precomposed é or with e + combining accent.
    const composed = await hashPassword('caf\u00e9 au lait, please');
    assert.ok(await verifyPassword(composed, 'cafe\u0301 au lait, please'));
  });

  it('reads recovery codes forgivingly', () => {
    assert.equal(normalizeRecoveryCode(' AB1O-lI2x-0000-zzzz '), 'ab10112x0000zzzz');
  });
});

describe('HERALD_SESSION_TTL_SECONDS', () => {
  it('defaults to 20 minutes and refuses what a client could not use', () => {
    assert.equal(loadConfig({}).sessionTtlMs, 1_200_000);
    assert.equal(loadConfig({ HERALD_SESSION_TTL_SECONDS: '600' }).sessionTtlMs, 600_000);
    for (const bad of ['10', '1.5', '100000', 'soon']) {
      assert.throws(
        () => loadConfig({ HERALD_SESSION_TTL_SECONDS: bad }),
        /HERALD_SESSION_TTL_SECONDS must be a whole number of seconds from 60 to 86400/,
      );
    }
  });
});

for (const dialect of DIALECTS) {
  describe(`accounts (${dialect})`, () => {
    let database: TestDatabase;
    let db: Db;
    const box = new SecretBox(TEST_SECRET_KEY);
    let clock = Date.UTC(2030, 0, 1, 12, 0, 10); // 10 s into a TOTP step
    const deps = (): AccountsDeps => ({ db, box, sessionTtlMs: 1_200_000, now: () => clock });
    const code = (secret: string, at = clock) => totpCode(secret, Math.floor(at / 1000));
    /** Moves the clock to the start of a later TOTP step, so the next code is a fresh one. */
    const nextStep = () => (clock += 30_000);
    let n = 0;
    const newUser = async (extra: Partial<Parameters<typeof createUser>[2]> = {}) =>
      createUser(db, box, { email: `user${++n}@example.com`, role: 'operator', password: PASSWORD, ...extra }, CLI);
    const login = (input: Partial<LogInInput> & { username: string }) =>
      logIn(deps(), { password: PASSWORD, address: '203.0.113.7', ...input });

    before(async () => {
      database = await freshDatabase(dialect);
      db = database.open();
      await migrate(db);
      await bootstrapEnvironments(db);
    });
    after(async () => {
      await db.close();
      await database.drop();
    });

    it('creates users with a unique, case-insensitive email and keeps no secret in the clear', async () => {
      const u = await createUser(db, box, { email: 'Ana@Example.com', role: 'operator', password: PASSWORD }, CLI);
      assert.match(u.user.id, /^usr_/);
      assert.equal(u.user.email, 'Ana@Example.com');
      assert.equal(u.user.environment, null, 'an operator reaches both environments by default');
      assert.match(u.totpSecret, /^[A-Z2-7]{32}$/);
      assert.equal(u.recoveryCodes.length, 10);
      assert.equal(new Set(u.recoveryCodes).size, 10);
      await refused(createUser(db, box, { email: 'ana@EXAMPLE.com', role: 'operator', password: PASSWORD }, CLI), 'conflict');
      await refused(createUser(db, box, { email: 'short@example.com', role: 'operator', password: 'too short' }, CLI), 'bad_request');
      await refused(createUser(db, box, { email: 'not an email', role: 'operator', password: PASSWORD }, CLI), 'bad_request');
      await refused(createUser(db, box, { email: 't@example.com', role: 'tenant', password: PASSWORD }, CLI), 'bad_request');

      const stored = JSON.stringify([...(await db.all('SELECT * FROM users')), ...(await db.all('SELECT * FROM recovery_codes'))]);
      for (const secret of [PASSWORD, u.totpSecret, ...u.recoveryCodes, ...u.recoveryCodes.map(normalizeRecoveryCode)]) {
        assert.ok(!stored.includes(secret), `${secret.slice(0, 6)}… is not stored in the clear`);
      }
      assert.match(stored, /enc:v1:/, 'the TOTP secret is sealed');
      assert.match(stored, /\$argon2id\$/);
    });

    it('logs in with a TOTP code, which then works only once', async () => {
      const u = await newUser();
      const c = code(u.totpSecret);
      const ok = await login({ username: u.user.email.toUpperCase(), totpCode: c });
      assert.match(ok.key, /^sess_/);
      assert.equal(ok.session.environment, 'sandbox');
      assert.equal(ok.session.tenantId, null);
      assert.ok(ok.user.lastLoginAt);
      assert.equal((await findSession(db, ok.key, clock))?.userId, u.user.id);
      await refused(login({ username: u.user.email, totpCode: c }), 'unauthorized');
      // Still refused a step later, while the code is within the ±1 window.
      clock += 30_000;
      await refused(login({ username: u.user.email, totpCode: c }), 'unauthorized');
    });

    it('accepts a code once when two logins present it at the same moment', async () => {
      const u = await newUser();
      nextStep();
      const c = code(u.totpSecret);
      const results = await Promise.allSettled(Array.from({ length: 4 }, () => login({ username: u.user.email, totpCode: c })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one login wins the code');
      for (const r of results)
        if (r.status === 'rejected')
          assert.equal((r.reason as HeraldError).code, 'unauthorized', `refused with something else: ${(r.reason as Error)?.stack}`);
    });

    it('accepts the code of the step before or after, but never one older than a code already used', async () => {
      const u = await newUser();
      nextStep();
      await login({ username: u.user.email, totpCode: code(u.totpSecret, clock - 30_000) });
      await login({ username: u.user.email, totpCode: code(u.totpSecret, clock + 30_000) });
      await refused(login({ username: u.user.email, totpCode: code(u.totpSecret) }), 'unauthorized');
      await refused(login({ username: u.user.email, totpCode: code(u.totpSecret, clock + 60_000) }), 'unauthorized');
    });

    it('takes a recovery code instead of a TOTP code, each once, even when two logins race', async () => {
      const u = await newUser();
      const [first, second] = u.recoveryCodes;
      await login({ username: u.user.email, recoveryCode: first.toUpperCase() });
      await refused(login({ username: u.user.email, recoveryCode: first }), 'unauthorized');
      const results = await Promise.allSettled([0, 1, 2].map(() => login({ username: u.user.email, recoveryCode: second })));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      // Another user's code does not work.
      const other = await newUser();
      await refused(login({ username: u.user.email, recoveryCode: other.recoveryCodes[0] }), 'unauthorized');
      await refused(login({ username: u.user.email }), 'unauthorized');
    });

    it('answers every failure alike, whether the user exists or not', async () => {
      const u = await newUser();
      nextStep();
      const messages = new Set<string>();
      for (const attempt of [
        { username: 'nobody@example.com', totpCode: code(u.totpSecret) },
        { username: u.user.email, password: 'wrong password entirely', totpCode: code(u.totpSecret) },
        { username: u.user.email, totpCode: '000000' },
      ]) {
        messages.add((await refused(login(attempt), 'unauthorized')).message);
      }
      assert.equal(messages.size, 1, 'one message for an unknown user, a wrong password and a wrong code');
    });

    it('binds a tenant user to its tenant and environment, and a limited operator to its environment', async () => {
      const t = await createTenant(db, box, 'sandbox', { name: 'Acme', uid: 'acme' });
      const tu = await newUser({ role: 'tenant', tenantId: t.id });
      assert.equal(tu.user.environment, 'sandbox');
      const s = await login({ username: tu.user.email, totpCode: code(tu.totpSecret) });
      assert.equal(s.session.tenantId, t.id);
      assert.equal((await findSession(db, s.key, clock))?.tenantId, t.id);
      nextStep();
      await refused(login({ username: tu.user.email, totpCode: code(tu.totpSecret), environment: 'production' }), 'forbidden');
      const op = await newUser({ environmentId: 'production' });
      await refused(login({ username: op.user.email, totpCode: code(op.totpSecret) }), 'forbidden');
      nextStep();
      const p = await login({ username: op.user.email, totpCode: code(op.totpSecret), environment: 'production' });
      assert.equal(p.session.environment, 'production');
      await refused(newUser({ role: 'operator', tenantId: t.id }), 'bad_request');
      await refused(newUser({ role: 'tenant', tenantId: t.id, environmentId: 'production' }), 'bad_request');
      assert.ok((await listUsers(db, { tenantId: t.id })).data.every((x) => x.tenantId === t.id));
    });

    it('ends a session at its absolute expiry; refresh gives a new key and ends the old; logOut ends it', async () => {
      const u = await newUser();
      nextStep();
      const s = await login({ username: u.user.email, totpCode: code(u.totpSecret) });
      const expiry = Date.parse(s.session.expiresAt);
      assert.ok(await findSession(db, s.key, expiry - 1));
      assert.equal(await findSession(db, s.key, expiry), undefined, 'expired');
      await refused(refreshSession(db, s.key, { ttlMs: 1_200_000, now: expiry }), 'unauthorized');

      clock += 600_000; // half-way: refresh
      const r = await refreshSession(db, s.key, { ttlMs: 1_200_000, now: clock });
      assert.notEqual(r.key, s.key);
      assert.equal(r.session.userId, u.user.id);
      assert.ok(Date.parse(r.session.expiresAt) > expiry, 'the new session runs its own full lifetime');
      assert.equal(await findSession(db, s.key, clock), undefined, 'the old key is ended');
      await refused(refreshSession(db, s.key, { ttlMs: 1_200_000, now: clock }), 'unauthorized');
      assert.ok(await findSession(db, r.key, clock));

      await logOut(db, r.key, { now: clock });
      assert.equal(await findSession(db, r.key, clock), undefined);
      await refused(logOut(db, r.key, { now: clock }), 'unauthorized');
      assert.equal(await findSession(db, 'sess_not-a-real-key', clock), undefined);

      // A day after their expiry, dead sessions are deleted; live ones stay.
      const live = await login({ username: u.user.email, recoveryCode: u.recoveryCodes[0] });
      const count = async () =>
        Number((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1', [u.user.id]))!.n);
      assert.equal(await count(), 3);
      assert.equal(await deleteExpiredSessions(db, clock), 0);
      assert.ok(
        (await deleteExpiredSessions(db, expiry + 86_400_001)) >= 1,
        "the first session, expired over a day before (and older tests' ones)",
      );
      assert.equal(await count(), 2);
      assert.ok(await findSession(db, live.key, clock));
    });

    it('refuses a disabled user: its sessions end and it cannot log in; enabling lets it back', async () => {
      const u = await newUser();
      nextStep();
      const s = await login({ username: u.user.email, totpCode: code(u.totpSecret) });
      await disableUser(db, u.user.email, { actor: 'cli', now: clock });
      assert.equal(await findSession(db, s.key, clock), undefined);
      nextStep();
      await refused(login({ username: u.user.email, totpCode: code(u.totpSecret) }), 'unauthorized');
      await enableUser(db, u.user.id, CLI);
      nextStep();
      assert.ok((await login({ username: u.user.email, totpCode: code(u.totpSecret) })).key);
    });

    it('resets the second factor: the old secret and codes stop working, sessions end', async () => {
      const u = await newUser();
      nextStep();
      const s = await login({ username: u.user.email, totpCode: code(u.totpSecret) });
      const reset = await resetMfa(db, box, u.user.email, { actor: 'cli', now: clock });
      assert.notEqual(reset.totpSecret, u.totpSecret);
      assert.equal(await findSession(db, s.key, clock), undefined);
      nextStep();
      await refused(login({ username: u.user.email, totpCode: code(u.totpSecret) }), 'unauthorized');
      await refused(login({ username: u.user.email, recoveryCode: u.recoveryCodes[5] }), 'unauthorized');
      assert.ok((await login({ username: u.user.email, totpCode: code(reset.totpSecret) })).key);
      assert.ok((await login({ username: u.user.email, recoveryCode: reset.recoveryCodes[0] })).key);
    });

    it('refuses a username after ten failures in a row, even with the right credentials, until 60 s have passed', async () => {
      const u = await newUser();
      for (let i = 0; i < USERNAME_FAILURE_LIMIT; i++) {
        await refused(login({ username: u.user.email, password: `wrong password ${i}` }), 'unauthorized');
      }
      nextStep();
      const locked = await refused(login({ username: u.user.email, totpCode: code(u.totpSecret) }), 'rate_limited');
      assert.match(locked.message, /try again in \d+ s/);
      clock += USERNAME_LOCK_MS - 31_000; // still within the minute after the tenth failure
      await refused(login({ username: u.user.email, totpCode: code(u.totpSecret) }), 'rate_limited');
      clock += 1_000; // a minute after the tenth failure
      const ok = await login({ username: u.user.email, totpCode: code(u.totpSecret) });
      assert.ok(ok.key);
      // The success cleared the count: nine more failures do not lock it.
      for (let i = 0; i < USERNAME_FAILURE_LIMIT - 1; i++) {
        await refused(login({ username: u.user.email, password: `wrong again ${i}` }), 'unauthorized');
      }
      nextStep();
      assert.ok((await login({ username: u.user.email, totpCode: code(u.totpSecret) })).key);
    });

    it('counts attempts as they start: twenty at once against a fresh name check at most ten', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => login({ username: 'racer@example.com', password: 'guessing away here' })),
      );
      const codes = results.map((r) => (r.status === 'rejected' ? (r.reason as HeraldError).code : 'ok'));
      assert.equal(codes.filter((c) => c === 'unauthorized').length, USERNAME_FAILURE_LIMIT);
      assert.equal(codes.filter((c) => c === 'rate_limited').length, 20 - USERNAME_FAILURE_LIMIT);
    });

    it('throttles an address after many failures, for any username, until its window ends', async () => {
      const u = await newUser();
      const address = '198.51.100.9';
      // Spread over many usernames, so no username reaches its own limit.
      for (let i = 0; i < ADDRESS_FAILURE_LIMIT; i += 4) {
        await Promise.all([0, 1, 2, 3].map((j) => refused(login({ username: `guess${i + j}@example.com`, address }), 'unauthorized')));
      }
      nextStep();
      await refused(login({ username: u.user.email, totpCode: code(u.totpSecret), address }), 'rate_limited');
      // Another address is not concerned.
      assert.ok((await login({ username: u.user.email, totpCode: code(u.totpSecret), address: '198.51.100.10' })).key);
      clock += ADDRESS_WINDOW_MS;
      assert.ok((await login({ username: u.user.email, totpCode: code(u.totpSecret), address })).key);
    });

    it('writes logins and user changes to the audit log, without a secret, read page by page', async () => {
      const u = await newUser();
      nextStep();
      const c = code(u.totpSecret);
      const s = await login({ username: u.user.email, totpCode: c, address: '192.0.2.44' });
      await refused(login({ username: u.user.email, password: 'a wrong password', totpCode: c, address: '192.0.2.45' }), 'unauthorized');
      const r = await refreshSession(db, s.key, { ttlMs: 1_200_000, now: clock, address: '192.0.2.44' });
      await logOut(db, r.key, { now: clock });
      const reset = await resetMfa(db, box, u.user.id, CLI);
      await disableUser(db, u.user.id, CLI);

      const all = [];
      const seen = new Set<string>();
      let after: string | undefined;
      do {
        const page = await listAudit(db, { limit: 3, after });
        for (const e of page.data) {
          assert.ok(!seen.has(e.id), 'no row twice across pages');
          seen.add(e.id);
        }
        all.push(...page.data);
        after = page.nextCursor ?? undefined;
      } while (after);
      assert.deepEqual(
        all.map((e) => e.id),
        [...all.map((e) => e.id)].sort().reverse(),
        'newest first',
      );
      const mine = all.filter((e) => e.actor === u.user.id || e.target === u.user.id);
      const actions = mine.map((e) => e.action);
      for (const a of [
        'user.created',
        'login.succeeded',
        'login.failed',
        'session.refreshed',
        'session.ended',
        'user.mfa_reset',
        'user.disabled',
      ]) {
        assert.ok(actions.includes(a as never), `${a} is recorded`);
      }
      const success = mine.find((e) => e.action === 'login.succeeded')!;
      assert.equal(success.address, '192.0.2.44');
      assert.equal(success.environment, 'sandbox');
      const failure = mine.find((e) => e.action === 'login.failed')!;
      assert.equal(failure.address, '192.0.2.45');
      assert.equal(failure.details.reason, 'bad_password');

      const text = JSON.stringify(await db.all('SELECT * FROM audit_log'));
      for (const secret of [
        PASSWORD,
        'a wrong password',
        c,
        u.totpSecret,
        reset.totpSecret,
        ...u.recoveryCodes,
        ...reset.recoveryCodes,
        s.key,
        r.key,
      ]) {
        assert.ok(!text.includes(secret), `the audit log does not hold ${secret.slice(0, 6)}…`);
      }
      const onlyLogins = await listAudit(db, { action: 'login.succeeded', limit: 500 });
      assert.ok(onlyLogins.data.length > 0 && onlyLogins.data.every((e) => e.action === 'login.succeeded'));
    });

    describe('first-login enrolment', () => {
      const toEnrol = async (extra: Partial<Parameters<typeof createUserToEnrol>[1]> = {}) =>
        (await createUserToEnrol(db, { email: `enrol${++n}@example.com`, role: 'operator', password: PASSWORD, ...extra }, CLI)).user;
      /** logIn as a user still to enrol: the challenge, asserted to be one. */
      const challenge = async (input: Partial<LogInInput> & { username: string }) => {
        const r = await logInOrEnrol(deps(), { password: PASSWORD, address: '203.0.113.8', ...input });
        assert.ok('enrolment' in r, `an enrolment challenge, got ${JSON.stringify(r)}`);
        return r.enrolment;
      };
      const complete = (ticket: string, totpCode: string, environment?: string) =>
        completeEnrolment(deps(), { ticket, totpCode, environment, address: '203.0.113.8' });
      const sessions = async (userId: string) =>
        Number((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM sessions WHERE user_id = $1', [userId]))!.n);

      it('creates a user with no second factor: logIn answers a challenge and no session; the first code enrols and logs in', async () => {
        const u = await toEnrol();
        assert.equal(u.enrolled, false);
        assert.equal((await db.one<{ s: string | null }>('SELECT totp_secret AS s FROM users WHERE id = $1', [u.id]))!.s, null);
        assert.equal(Number((await db.one<{ n: number }>('SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1', [u.id]))!.n), 0);
        nextStep();
        const e = await challenge({ username: u.email.toUpperCase() });
        assert.match(e.ticket, /^enr_/);
        assert.match(e.totpSecret, /^[A-Z2-7]{32}$/);
        assert.equal(e.otpauthUri, otpauthUri(e.totpSecret, u.email));
        assert.equal(Date.parse(e.expiresAt), clock + ENROLMENT_TICKET_TTL_MS);
        assert.equal(await sessions(u.id), 0, 'the challenge starts no session');
        // Nothing of the ticket or the secret is stored in the clear.
        const stored = JSON.stringify(await db.all('SELECT * FROM enrolment_tickets'));
        assert.ok(!stored.includes(e.ticket) && !stored.includes(e.totpSecret));
        // logIn (the path for users with a second factor) refuses it like a wrong code.
        await refused(login({ username: u.email, totpCode: '123456' }), 'unauthorized');

        const c = code(e.totpSecret);
        const done = await complete(e.ticket, c);
        assert.match(done.key, /^sess_/);
        assert.equal(done.user.id, u.id);
        assert.equal(done.user.enrolled, true);
        assert.equal(done.session.environment, 'sandbox');
        assert.equal((await findSession(db, done.key, clock))?.userId, u.id);
        assert.equal(done.recoveryCodes.length, 10);
        assert.equal(new Set(done.recoveryCodes).size, 10);
        const row = (await db.one<{ s: string }>('SELECT totp_secret AS s FROM users WHERE id = $1', [u.id]))!;
        assert.match(row.s, /^enc:v1:/, 'the secret is stored sealed');
        assert.equal(box.open(row.s), e.totpSecret);

        // From now on, logIn needs the second factor, and the enrolment code was used up.
        await refused(login({ username: u.email }), 'unauthorized');
        await refused(login({ username: u.email, totpCode: c }), 'unauthorized');
        await refused(logInOrEnrol(deps(), { username: u.email, password: PASSWORD }), 'unauthorized');
        nextStep();
        assert.ok((await login({ username: u.email, totpCode: code(e.totpSecret) })).key);
        assert.ok((await login({ username: u.email, recoveryCode: done.recoveryCodes[0] })).key);
        // The ticket worked once.
        await refused(complete(e.ticket, code(e.totpSecret)), 'unauthorized');
      });

      it('refuses a wrong code as a failed login (the ticket stays usable), an expired, a replaced or an unknown ticket', async () => {
        const u = await toEnrol();
        nextStep();
        const e = await challenge({ username: u.email });
        const wrong = code(e.totpSecret) === '000000' ? '111111' : '000000';
        const bad = await refused(complete(e.ticket, wrong), 'unauthorized');
        assert.match(bad.message, /email, password or authentication code is wrong/);
        assert.equal(await sessions(u.id), 0);
        const failure = (await listAudit(db, { action: 'login.failed', limit: 500 })).data.find((x) => x.target === u.id);
        assert.equal(failure?.details.reason, 'bad_enrolment_code');
        // A code of the secret of another challenge is wrong too.
        const other = await toEnrol();
        const otherE = await challenge({ username: other.email });
        await refused(complete(e.ticket, code(otherE.totpSecret)), 'unauthorized');
        assert.ok((await complete(e.ticket, code(e.totpSecret))).key, 'the right code still works after wrong ones');

        // A new logIn replaces the ticket before it.
        const v = await toEnrol();
        const first = await challenge({ username: v.email });
        const second = await challenge({ username: v.email });
        await refused(complete(first.ticket, code(first.totpSecret)), 'unauthorized');
        // Ten minutes later the ticket has expired.
        clock += ENROLMENT_TICKET_TTL_MS;
        const expired = await refused(complete(second.ticket, code(second.totpSecret)), 'unauthorized');
        assert.match(expired.message, /unknown, used or expired/);
        await refused(complete('enr_not-a-real-ticket', '123456'), 'unauthorized');
        await refused(complete('', '123456'), 'unauthorized');
        assert.equal(await sessions(v.id), 0);
      });

      it('ten wrong codes at completion lock the username like ten failed logins', async () => {
        const u = await toEnrol();
        nextStep();
        const e = await challenge({ username: u.email });
        const right = code(e.totpSecret);
        const wrong = right === '000000' ? '111111' : '000000';
        // The challenge's own attempt counts until the enrolment completes.
        for (let i = 0; i < USERNAME_FAILURE_LIMIT - 1; i++) await refused(complete(e.ticket, wrong), 'unauthorized');
        await refused(complete(e.ticket, right), 'rate_limited');
        await refused(logInOrEnrol(deps(), { username: u.email, password: PASSWORD }), 'rate_limited');
        clock += USERNAME_LOCK_MS;
        assert.ok((await complete(e.ticket, code(e.totpSecret))).key);
      });

      it('answers a wrong password exactly as for a user with a second factor', async () => {
        const enrolled = await newUser();
        const toBe = await toEnrol();
        const answers = [];
        for (const username of [enrolled.user.email, toBe.email, 'nobody-at-all@example.com']) {
          const e = await refused(
            logInOrEnrol(deps(), { username, password: 'not the password at all', address: '203.0.113.9' }),
            'unauthorized',
          );
          answers.push({ code: e.code, message: e.message, details: e.details });
        }
        assert.deepEqual(answers[1], answers[0]);
        assert.deepEqual(answers[2], answers[0]);
        const audit = (await listAudit(db, { action: 'login.failed', limit: 500 })).data;
        assert.equal(audit.find((x) => x.target === toBe.id)?.details.reason, 'bad_password');
        assert.equal(await sessions(toBe.id), 0);
        assert.equal(
          (await db.all('SELECT id FROM enrolment_tickets WHERE user_id = $1', [toBe.id])).length,
          0,
          'no ticket for a wrong password',
        );
      });

      it('binds enrolment to the user environment, and audits it', async () => {
        const t = await createTenant(db, box, 'sandbox', { name: 'Enrolling', uid: 'enrolling' });
        const u = await toEnrol({ role: 'tenant', tenantId: t.id });
        await refused(logInOrEnrol(deps(), { username: u.email, password: PASSWORD, environment: 'production' }), 'forbidden');
        nextStep();
        const e = await challenge({ username: u.email });
        await refused(complete(e.ticket, code(e.totpSecret), 'production'), 'forbidden');
        const done = await complete(e.ticket, code(e.totpSecret), 'sandbox');
        assert.equal(done.session.tenantId, t.id);
        const actions = (await listAudit(db, { actor: u.id, limit: 500 })).data.map((x) => x.action);
        for (const a of ['user.enrolment_started', 'user.enrolled', 'login.succeeded']) assert.ok(actions.includes(a as never), a);
        const text = JSON.stringify(await db.all('SELECT * FROM audit_log'));
        for (const secret of [e.ticket, e.totpSecret, done.key, ...done.recoveryCodes]) assert.ok(!text.includes(secret));
      });

      it('clearMfa removes the second factor: sessions end, old codes stop, the next login enrols again', async () => {
        const u = await newUser();
        nextStep();
        const s = await login({ username: u.user.email, totpCode: code(u.totpSecret) });
        const cleared = await clearMfa(db, u.user.email, { actor: 'cli', now: clock });
        assert.equal(cleared.user.enrolled, false);
        assert.equal(await findSession(db, s.key, clock), undefined);
        nextStep();
        await refused(login({ username: u.user.email, recoveryCode: u.recoveryCodes[1] }), 'unauthorized');
        const e = await challenge({ username: u.user.email, totpCode: code(u.totpSecret) });
        assert.notEqual(e.totpSecret, u.totpSecret);
        assert.ok((await complete(e.ticket, code(e.totpSecret))).key);
      });
    });

    it('re-seals TOTP secrets when HERALD_SECRET_KEY is rotated', async () => {
      const u = await newUser();
      const keyB = 'rotated-key-0123456789abcdefghijklmnopqrstuvwxyz';
      const boxB = new SecretBox(keyB, [TEST_SECRET_KEY]);
      assert.ok((await resealSecrets(db, boxB)) > 0);
      const row = await db.one<{ totp_secret: string }>('SELECT totp_secret FROM users WHERE id = $1', [u.user.id]);
      assert.ok(!boxB.isStale(row!.totp_secret), 'sealed with the new key');
      // The new key alone opens it: the previous one can go.
      nextStep();
      const onlyB = new SecretBox(keyB);
      const ok = await logIn(
        { db, box: onlyB, sessionTtlMs: 60_000, now: () => clock },
        { username: u.user.email, password: PASSWORD, totpCode: code(u.totpSecret) },
      );
      assert.ok(ok.key);
      await resealSecrets(db, new SecretBox(TEST_SECRET_KEY, [keyB])); // back to the key the other tests use
    });
  });
}
