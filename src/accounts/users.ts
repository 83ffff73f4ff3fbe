import type { Db, Queryable } from '../db/db.js';
import { isUniqueViolation } from '../db/db.js';
import { badRequest, HeraldError } from '../errors.js';
import { newId } from '../ids.js';
import type { EnvironmentName } from '../keys/keys.js';
import { type Page, pageOf } from '../pagination.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { writeAudit } from './audit.js';
import { hashPassword } from './passwords.js';
import { replaceRecoveryCodes } from './recoveryCodes.js';
import { endUserSessions } from './sessions.js';
import { newTotpSecret, otpauthUri } from './totp.js';

// People who log in. An operator user reaches every tenant of the environments it may use: both
// (environment NULL, the default) or one. A tenant user reaches one tenant and so one environment,
// the tenant's. The email is the username, unique without regard to case.

export type UserRole = 'operator' | 'tenant';
export type UserStatus = 'active' | 'disabled';

export interface User {
  id: string;
  email: string;
  role: UserRole;
  /** The one environment this user may use; null: every environment (operators only). */
  environment: EnvironmentName | null;
  tenantId: string | null;
  status: UserStatus;
  createdAt: string;
  updatedAt: string;
  lastLoginAt: string | null;
  /** False until the user has an authenticator: its next login with the right password enrols one. */
  enrolled: boolean;
}

/** What logIn needs besides the user: never leaves the accounts module. */
export interface UserCredentials extends User {
  passwordHash: string;
  /** Sealed; open with the SecretBox. Null: no authenticator enrolled yet. */
  sealedTotpSecret: string | null;
  environmentId: string | null;
}

/** Shown once, when a user is created or its second factor is reset. */
export interface SecondFactor {
  totpSecret: string;
  otpauthUri: string;
  recoveryCodes: string[];
}

interface UserRow {
  id: string;
  email: string;
  role: UserRole;
  environment_id: string | null;
  environment_name: EnvironmentName | null;
  tenant_id: string | null;
  password_hash: string;
  totp_secret: string | null;
  status: UserStatus;
  created_at: number;
  updated_at: number;
  last_login_at: number | null;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  role: r.role,
  environment: r.environment_name,
  tenantId: r.tenant_id,
  status: r.status,
  createdAt: iso(r.created_at)!,
  updatedAt: iso(r.updated_at)!,
  lastLoginAt: iso(r.last_login_at),
  enrolled: r.totp_secret !== null,
});

const SELECT = `SELECT u.id, u.email, u.role, u.environment_id, e.name AS environment_name, u.tenant_id, u.password_hash,
       u.totp_secret, u.status, u.created_at, u.updated_at, u.last_login_at
  FROM users u LEFT JOIN environments e ON e.id = u.environment_id`;

/** The login name of an email: trimmed and lower-cased (JavaScript's lower-casing knows all of Unicode). */
export const emailKey = (email: string) => email.trim().toLowerCase();

function checkEmail(email: string): string {
  const e = email.trim();
  if (!/^[^\s@]+@[^\s@]+$/.test(e) || e.length > 254) throw badRequest(`"${email}" is not an email address; give one like ana@example.com`);
  return e;
}

async function findRow(q: Queryable, idOrEmail: string): Promise<UserRow | undefined> {
  return q.one<UserRow>(`${SELECT} WHERE u.id = $1 OR u.email_key = $2`, [idOrEmail, emailKey(idOrEmail)]);
}

/** The user whose email is this username (logIn: the username is an email, never an id). */
export async function findUserByEmail(q: Queryable, email: string): Promise<UserCredentials | undefined> {
  const row = await q.one<UserRow>(`${SELECT} WHERE u.email_key = $1`, [emailKey(email)]);
  // The only way out for the password hash and the sealed secret: logIn needs them, a User never carries them.
  return row && { ...toUser(row), passwordHash: row.password_hash, sealedTotpSecret: row.totp_secret, environmentId: row.environment_id };
}

/** The same, by user id (completing an enrolment knows the user from its ticket). */
export async function findUserCredentials(q: Queryable, id: string): Promise<UserCredentials | undefined> {
  const row = await q.one<UserRow>(`${SELECT} WHERE u.id = $1`, [id]);
  return row && { ...toUser(row), passwordHash: row.password_hash, sealedTotpSecret: row.totp_secret, environmentId: row.environment_id };
}

async function getRow(q: Queryable, idOrEmail: string): Promise<UserRow> {
  const row = await findRow(q, idOrEmail);
  if (!row) throw new HeraldError('not_found', `no user has the id or email "${idOrEmail}"; \`herald users list\` shows them`);
  return row;
}

export async function getUser(q: Queryable, idOrEmail: string): Promise<User> {
  return toUser(await getRow(q, idOrEmail));
}

export interface CreateUserInput {
  email: string;
  role: UserRole;
  /** Required for a tenant user, refused for an operator. */
  tenantId?: string | null;
  /** Operators: limit the user to this environment (default: every one). Tenant users: the tenant's, if given. */
  environmentId?: string | null;
  password: string;
}

export interface ActorContext {
  /** Who makes the change, for the audit log: a user id, a key id or 'cli'. */
  actor: string;
  address?: string | null;
  now?: number;
}

/** Creates a user with a TOTP secret and ten recovery codes, which the answer shows once. */
export async function createUser(
  db: Db,
  box: SecretBox,
  input: CreateUserInput,
  ctx: ActorContext,
): Promise<{ user: User } & SecondFactor> {
  const made = await insertUser(db, box, input, ctx, true);
  return made as { user: User } & SecondFactor;
}

/**
 * Creates a user without a second factor: its first login with the right password answers an
 * enrolment challenge (src/accounts/enrolment.ts) instead of a session, and the authenticator it
 * sets up then is its own. Nobody but that person ever sees the secret.
 */
export async function createUserToEnrol(db: Db, input: CreateUserInput, ctx: ActorContext): Promise<{ user: User }> {
  return insertUser(db, null, input, ctx, false);
}

async function insertUser(
  db: Db,
  box: SecretBox | null,
  input: CreateUserInput,
  ctx: ActorContext,
  withSecondFactor: boolean,
): Promise<{ user: User } & Partial<SecondFactor>> {
  const email = checkEmail(input.email);
  if (input.role !== 'operator' && input.role !== 'tenant')
    throw badRequest(`role must be "operator" or "tenant", not "${String(input.role)}"`);
  // Hash before the transaction: it takes tens of milliseconds on purpose, and holds no lock.
  const passwordHash = await hashPassword(input.password);
  const now = ctx.now ?? Date.now();
  return db.tx(async (q) => {
    let environmentId = input.environmentId ?? null;
    let tenantId: string | null = null;
    if (input.role === 'tenant') {
      if (!input.tenantId) throw badRequest('a tenant user needs a tenant: give its id or uid');
      const t = await q.one<{ id: string; environment_id: string }>('SELECT id, environment_id FROM tenants WHERE id = $1', [
        input.tenantId,
      ]);
      if (!t) throw new HeraldError('not_found', `tenant "${input.tenantId}" does not exist`);
      if (environmentId && environmentId !== t.environment_id)
        throw badRequest(`tenant "${t.id}" is in the ${t.environment_id} environment, not ${environmentId}`);
      tenantId = t.id;
      environmentId = t.environment_id;
    } else {
      if (input.tenantId)
        throw badRequest('an operator user reaches every tenant of its environments: leave out the tenant, or make a tenant user');
      if (environmentId && !(await q.one('SELECT 1 FROM environments WHERE id = $1', [environmentId]))) {
        throw badRequest(
          `there is no environment "${environmentId}": environments are sandbox and production, created when Herald first starts (\`herald start\`)`,
        );
      }
    }
    const id = newId('usr', now);
    const totpSecret = withSecondFactor ? newTotpSecret() : null;
    try {
      await q.run(
        `INSERT INTO users (id, email, email_key, role, environment_id, tenant_id, password_hash, totp_secret, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $9)`,
        [id, email, emailKey(email), input.role, environmentId, tenantId, passwordHash, totpSecret && box!.seal(totpSecret), now],
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new HeraldError('conflict', `a user with the email "${email}" already exists`);
      throw err;
    }
    // Recovery codes come with the secret: a user who enrols gets them when it does.
    const recoveryCodes = totpSecret ? await replaceRecoveryCodes(q, id, now) : null;
    await writeAudit(
      q,
      {
        environmentId,
        actor: ctx.actor,
        action: 'user.created',
        target: id,
        address: ctx.address,
        details: { email, role: input.role, tenantId, enrolAtFirstLogin: !withSecondFactor },
      },
      now,
    );
    const user = toUser((await q.one<UserRow>(`${SELECT} WHERE u.id = $1`, [id]))!);
    if (!totpSecret || !recoveryCodes) return { user };
    return { user, totpSecret, otpauthUri: otpauthUri(totpSecret, email), recoveryCodes };
  });
}

/** Users by creation, newest first; `after` is the `nextCursor` of the page before. */
export async function listUsers(
  q: Queryable,
  opts: { tenantId?: string; environmentId?: string; limit?: number; after?: string } = {},
): Promise<Page<User>> {
  const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
  const rows = await q.all<UserRow>(
    `${SELECT}
      WHERE (CAST($1 AS text) IS NULL OR u.tenant_id = $1)
        AND (CAST($2 AS text) IS NULL OR u.environment_id = $2 OR u.environment_id IS NULL)
        AND (CAST($3 AS text) IS NULL OR u.id < $3)
      ORDER BY u.id DESC LIMIT $4`,
    [opts.tenantId ?? null, opts.environmentId ?? null, opts.after ?? null, limit + 1],
  );
  return pageOf(rows.map(toUser), limit);
}

async function setStatus(db: Db, idOrEmail: string, status: UserStatus, ctx: ActorContext): Promise<User> {
  const now = ctx.now ?? Date.now();
  return db.tx(async (q) => {
    const row = await getRow(q, idOrEmail);
    if (row.status !== status) {
      await q.run('UPDATE users SET status = $1, updated_at = $2 WHERE id = $3', [status, now, row.id]);
      // A disabled user's sessions end with it (the session lookup refuses them anyway).
      if (status === 'disabled') await endUserSessions(q, row.id, 'user_disabled', now);
      const action = status === 'disabled' ? 'user.disabled' : 'user.enabled';
      await writeAudit(
        q,
        {
          environmentId: row.environment_id,
          actor: ctx.actor,
          action,
          target: row.id,
          address: ctx.address,
          details: { email: row.email },
        },
        now,
      );
    }
    return getUser(q, row.id);
  });
}

/** Refuses every login of this user from now on and ends its sessions. */
export const disableUser = (db: Db, idOrEmail: string, ctx: ActorContext) => setStatus(db, idOrEmail, 'disabled', ctx);
/** Lets a disabled user log in again (with the same password and second factor). */
export const enableUser = (db: Db, idOrEmail: string, ctx: ActorContext) => setStatus(db, idOrEmail, 'active', ctx);

/**
 * A new TOTP secret and ten new recovery codes (the old ones stop working), for a user who lost
 * the authenticator. The user's sessions end: whoever has the old device is logged out.
 */
export async function resetMfa(db: Db, box: SecretBox, idOrEmail: string, ctx: ActorContext): Promise<{ user: User } & SecondFactor> {
  const now = ctx.now ?? Date.now();
  return db.tx(async (q) => {
    const user = await getRow(q, idOrEmail);
    const totpSecret = newTotpSecret();
    await q.run('UPDATE users SET totp_secret = $1, totp_last_step = NULL, updated_at = $2 WHERE id = $3', [
      box.seal(totpSecret),
      now,
      user.id,
    ]);
    const recoveryCodes = await replaceRecoveryCodes(q, user.id, now);
    await q.run('DELETE FROM enrolment_tickets WHERE user_id = $1', [user.id]);
    await endUserSessions(q, user.id, 'mfa_reset', now);
    await writeAudit(
      q,
      {
        environmentId: user.environment_id,
        actor: ctx.actor,
        action: 'user.mfa_reset',
        target: user.id,
        address: ctx.address,
        details: { email: user.email },
      },
      now,
    );
    return { user: await getUser(q, user.id), totpSecret, otpauthUri: otpauthUri(totpSecret, user.email), recoveryCodes };
  });
}

/**
 * Removes the user's second factor (its authenticator and recovery codes stop working) and ends its
 * sessions: its next login with the right password enrols a new authenticator, which only that
 * person sees. The alternative to resetMfa when whoever resets should not hold the new secret.
 */
export async function clearMfa(db: Db, idOrEmail: string, ctx: ActorContext): Promise<{ user: User }> {
  const now = ctx.now ?? Date.now();
  return db.tx(async (q) => {
    const user = await getRow(q, idOrEmail);
    await q.run('UPDATE users SET totp_secret = NULL, totp_last_step = NULL, updated_at = $1 WHERE id = $2', [now, user.id]);
    await q.run('DELETE FROM recovery_codes WHERE user_id = $1', [user.id]);
    // A ticket from before the user last enrolled must not come back to life.
    await q.run('DELETE FROM enrolment_tickets WHERE user_id = $1', [user.id]);
    await endUserSessions(q, user.id, 'mfa_reset', now);
    await writeAudit(
      q,
      {
        environmentId: user.environment_id,
        actor: ctx.actor,
        action: 'user.mfa_reset',
        target: user.id,
        address: ctx.address,
        details: { email: user.email, enrolAtNextLogin: true },
      },
      now,
    );
    return { user: await getUser(q, user.id) };
  });
}

/**
 * Accepts `step` for this user once: true for the first login that presents a code of this step
 * (or a later one than any accepted before), false for every other. One UPDATE with the condition
 * in its WHERE: two logins racing with the same code cannot both change the row.
 */
export async function consumeTotpStep(q: Queryable, userId: string, step: number): Promise<boolean> {
  const n = await q.run('UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)', [
    step,
    userId,
  ]);
  return n === 1;
}

/** Stamps a successful login on the user (shown in user lists). */
export async function markLoggedIn(q: Queryable, userId: string, now: number): Promise<void> {
  await q.run('UPDATE users SET last_login_at = $1 WHERE id = $2', [now, userId]);
}

/**
 * Stores the TOTP secret a user enrolled with at first login, and the step of the code that proved
 * it (so that code is used). Only a user still without a secret takes it: another enrolment, or a
 * reset, may have won meanwhile. Answers whether it was stored.
 */
export async function storeFirstTotpSecret(
  q: Queryable,
  userId: string,
  sealedSecret: string,
  step: number,
  now: number,
): Promise<boolean> {
  const n = await q.run('UPDATE users SET totp_secret = $1, totp_last_step = $2, updated_at = $3 WHERE id = $4 AND totp_secret IS NULL', [
    sealedSecret,
    step,
    now,
    userId,
  ]);
  return n === 1;
}
