import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { logIn, logInOrEnrol } from '../src/accounts/logIn.js';
import { totpCode } from '../src/accounts/totp.js';
import { loadConfig } from '../src/config.js';
import { HeraldError } from '../src/errors.js';
import { bootstrapEnvironments } from '../src/keys/environments.js';
import { resolveSecretKey, SecretBox } from '../src/secrets/secretBox.js';
import { createTenant } from '../src/tenants/tenants.js';
import { DIALECTS, freshDatabase, type TestDatabase } from './helpers/db.js';
import { heraldEnv, runCli } from './helpers/process.js';

const PASSWORD = 'a long enough passphrase';

type LoginInput = { username: string; password: string; totpCode?: string; recoveryCode?: string; environment?: string };

/** Logs in through the service function against the database the CLI wrote. */
const loginAs = (database: TestDatabase, input: LoginInput) =>
  withDeps(database, (deps) => logIn(deps, { address: '127.0.0.1', ...input }));
/** The same, for a user that may have to enrol first. */
const loginOrEnrolAs = (database: TestDatabase, input: LoginInput) =>
  withDeps(database, (deps) => logInOrEnrol(deps, { address: '127.0.0.1', ...input }));

async function withDeps<T>(database: TestDatabase, fn: (deps: Parameters<typeof logIn>[0]) => Promise<T>): Promise<T> {
  const config = loadConfig(heraldEnv(database));
  const box = new SecretBox(
    resolveSecretKey({
      secretKey: config.secretKey,
      dataDir: database.dataDir,
      usesPostgres: database.dialect === 'postgres',
      hasSealedSecrets: true,
    }).key,
  );
  const db = database.open();
  try {
    return await fn({ db, box, sessionTtlMs: config.sessionTtlMs });
  } finally {
    await db.close();
  }
}

const now = () => Math.floor(Date.now() / 1000);

for (const dialect of DIALECTS) {
  describe(`herald users (${dialect})`, () => {
    it('creates a user whose printed TOTP secret logs in; lists, disables and resets it', async () => {
      const database = await freshDatabase(dialect);
      const env = heraldEnv(database);
      try {
        // The trailing newline of --password-stdin is not part of the password.
        const created = await runCli(
          ['users', 'create', '--email', 'Ops@Example.com', '--role', 'operator', '--password-stdin', '--json'],
          env,
          PASSWORD + '\n',
        );
        assert.equal(created.code, 0, created.stderr);
        const out = JSON.parse(created.stdout);
        assert.deepEqual(Object.keys(out), ['id', 'email', 'role', 'totpSecret', 'otpauthUri', 'recoveryCodes']);
        assert.match(out.id, /^usr_/);
        assert.equal(out.email, 'Ops@Example.com');
        assert.equal(out.role, 'operator');
        assert.match(out.totpSecret, /^[A-Z2-7]+$/);
        assert.ok(out.otpauthUri.startsWith('otpauth://totp/'));
        assert.ok(out.otpauthUri.includes(`secret=${out.totpSecret}`));
        assert.equal(out.recoveryCodes.length, 10);

        // The CLI leaves the environments to Herald's first start, which prints their keys; here
        // the test plays that start.
        const first = database.open();
        assert.equal(Number((await first.one<{ n: number }>('SELECT COUNT(*) AS n FROM environments'))!.n), 0);
        await bootstrapEnvironments(first);
        await first.close();

        const session = await loginAs(database, {
          username: 'ops@example.com',
          password: PASSWORD,
          totpCode: totpCode(out.totpSecret, now()),
        });
        assert.match(session.key, /^sess_/);
        assert.equal(session.user.id, out.id);
        await assert.rejects(
          loginAs(database, { username: 'ops@example.com', password: PASSWORD + '\n', recoveryCode: out.recoveryCodes[0] }),
          (e: HeraldError) => e.code === 'unauthorized',
        );

        // A tenant user, its tenant named by uid (and a password line ending in CR LF).
        const db = database.open();
        const box = new SecretBox(
          resolveSecretKey({
            secretKey: env.HERALD_SECRET_KEY,
            dataDir: database.dataDir,
            usesPostgres: dialect === 'postgres',
            hasSealedSecrets: true,
          }).key,
        );
        const tenant = await createTenant(db, box, 'sandbox', { name: 'Acme', uid: 'acme' });
        await db.close();
        const tu = await runCli(
          ['users', 'create', '--email', 'ana@acme.test', '--role', 'tenant', '--tenant', 'acme', '--password-stdin', '--json'],
          env,
          PASSWORD + '\r\n',
        );
        assert.equal(tu.code, 0, tu.stderr);
        const tuOut = JSON.parse(tu.stdout);
        const tuSession = await loginAs(database, { username: 'ana@acme.test', password: PASSWORD, recoveryCode: tuOut.recoveryCodes[3] });
        assert.equal(tuSession.session.tenantId, tenant.id);

        const listed = await runCli(['users', 'list', '--json'], env);
        assert.equal(listed.code, 0, listed.stderr);
        const users = JSON.parse(listed.stdout);
        assert.deepEqual(users.map((u: { email: string }) => u.email).sort(), ['Ops@Example.com', 'ana@acme.test']);
        assert.ok(!listed.stdout.includes(out.totpSecret) && !/password|totp/i.test(listed.stdout), 'the list shows no secret');

        const reset = await runCli(['users', 'reset-mfa', 'ops@example.com', '--json'], env);
        assert.equal(reset.code, 0, reset.stderr);
        const fresh = JSON.parse(reset.stdout);
        assert.notEqual(fresh.totpSecret, out.totpSecret);
        assert.equal(fresh.recoveryCodes.length, 10);
        assert.ok((await loginAs(database, { username: 'ops@example.com', password: PASSWORD, recoveryCode: fresh.recoveryCodes[0] })).key);

        const disabled = await runCli(['users', 'disable', out.id], env);
        assert.equal(disabled.code, 0, disabled.stderr);
        await assert.rejects(
          loginAs(database, { username: 'ops@example.com', password: PASSWORD, recoveryCode: fresh.recoveryCodes[1] }),
          (e: HeraldError) => e.code === 'unauthorized',
        );
      } finally {
        await database.drop();
      }
    });

    it('creates a user to enrol at its first login, and resets one to enrol again', async () => {
      const database = await freshDatabase(dialect);
      const env = heraldEnv(database);
      try {
        // A user with a second factor first: its sealed secret makes the key file the test reads.
        const human = await runCli(
          ['users', 'create', '--email', 'old@example.com', '--role', 'operator', '--password-stdin', '--json'],
          env,
          PASSWORD + '\n',
        );
        const old = JSON.parse(human.stdout);
        const created = await runCli(
          ['users', 'create', '--email', 'new@example.com', '--role', 'operator', '--password-stdin', '--enrol-at-first-login', '--json'],
          env,
          PASSWORD + '\n',
        );
        assert.equal(created.code, 0, created.stderr);
        const out = JSON.parse(created.stdout);
        assert.deepEqual(Object.keys(out), ['id', 'email', 'role', 'enrolAtFirstLogin']);
        assert.equal(out.enrolAtFirstLogin, true);
        const db = database.open();
        await bootstrapEnvironments(db);
        await db.close();
        const first = await loginOrEnrolAs(database, { username: 'new@example.com', password: PASSWORD });
        assert.ok('enrolment' in first && first.enrolment.ticket.startsWith('enr_'), 'the first login is an enrolment challenge');
        const listed = JSON.parse((await runCli(['users', 'list', '--json'], env)).stdout);
        assert.deepEqual(
          listed.map((u: { email: string; enrolled: boolean }) => [u.email, u.enrolled]),
          [
            ['new@example.com', false],
            ['old@example.com', true],
          ],
        );
        const cleared = await runCli(['users', 'reset-mfa', 'old@example.com', '--enrol-at-first-login'], env);
        assert.equal(cleared.code, 0, cleared.stderr);
        assert.match(cleared.stdout, /No second factor yet/);
        assert.ok(!cleared.stdout.includes(old.totpSecret));
        const again = await loginOrEnrolAs(database, {
          username: 'old@example.com',
          password: PASSWORD,
          recoveryCode: old.recoveryCodes[0],
        });
        assert.ok('enrolment' in again, 'the old recovery code is gone: the login enrols again');
        const misuse = await runCli(['users', 'disable', 'old@example.com', '--enrol-at-first-login'], env);
        assert.equal(misuse.code, 2);
      } finally {
        await database.drop();
      }
    });

    it('refuses what is wrong with a message that says what to do', async () => {
      const database = await freshDatabase(dialect);
      const env = heraldEnv(database);
      try {
        const short = await runCli(
          ['users', 'create', '--email', 'a@example.com', '--role', 'operator', '--password-stdin', '--json'],
          env,
          'too short\n',
        );
        assert.equal(short.code, 1);
        assert.match(short.stderr, /at least 12/);
        const noStdin = await runCli(['users', 'create', '--email', 'a@example.com', '--role', 'operator'], env);
        assert.equal(noStdin.code, 2);
        assert.match(noStdin.stderr, /--password-stdin/);
        const noTenant = await runCli(
          ['users', 'create', '--email', 'a@example.com', '--role', 'tenant', '--tenant', 'nope', '--password-stdin'],
          env,
          PASSWORD + '\n',
        );
        assert.equal(noTenant.code, 2);
        assert.match(noTenant.stderr, /tenant "nope" was not found/);
        const unknown = await runCli(['users', 'disable', 'nobody@example.com'], env);
        assert.equal(unknown.code, 1);
        assert.match(unknown.stderr, /herald users list/);
      } finally {
        await database.drop();
      }
    });
  });
}
