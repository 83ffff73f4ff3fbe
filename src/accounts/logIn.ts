import type { Db } from '../db/db.js';
import { badRequest, HeraldError } from '../errors.js';
import { getEnvironment } from '../keys/environments.js';
import type { EnvironmentName } from '../keys/keys.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { writeAudit } from './audit.js';
import { recordLoginFailure, recordLoginSuccess, startLoginAttempt } from './loginThrottle.js';
import { verifyDummyPassword, verifyPassword } from './passwords.js';
import { consumeRecoveryCode } from './recoveryCodes.js';
import { createSession, type Session } from './sessions.js';
import { consumeTotpStep, matchTotp } from './totp.js';
import { emailKey, findUserByEmail, getUser, type User } from './users.js';

// logIn: the whole check, in the order that gives a guesser nothing. The throttle comes first
// (a locked username is refused even with the right password); then the password, verified
// against a dummy hash when no user has that email, so a wrong username costs the same time as a
// wrong password; then the second factor, always required: a TOTP code (accepted once) or a
// recovery code (used up). Every failure answers the same 401, whatever went wrong, and is
// written to the audit log with its real reason, for operators.

export interface AccountsDeps {
  db: Db;
  box: SecretBox;
  /** Lifetime of a session, absolute (HERALD_SESSION_TTL_SECONDS × 1000). */
  sessionTtlMs: number;
  /** The clock, in ms; tests move it instead of sleeping. */
  now?: () => number;
}

export interface LogInInput {
  /** The user's email. */
  username: string;
  password: string;
  totpCode?: string | null;
  /** Replaces totpCode when the authenticator is lost; works once. */
  recoveryCode?: string | null;
  /** Default: sandbox. */
  environment?: EnvironmentName | string;
  /** The client's address, for the throttle and the audit log. */
  address?: string | null;
}

export interface LoggedIn {
  user: User;
  session: Session;
  /** The session key: shown here once, stored only as a hash. */
  key: string;
}

const BAD_CREDENTIALS = () =>
  new HeraldError('unauthorized', 'the email, password or authentication code is wrong (a code from the authenticator works once: wait for the next one)');

type FailureReason = 'unknown_user' | 'bad_password' | 'user_disabled' | 'no_second_factor' | 'bad_totp_code' | 'totp_code_reused' | 'bad_recovery_code' | 'not_enrolled';

export async function logIn(deps: AccountsDeps, input: LogInInput): Promise<LoggedIn> {
  const { db, box } = deps;
  const now = deps.now?.() ?? Date.now();
  const address = input.address ?? null;
  const envName = input.environment ?? 'sandbox';
  const env = await getEnvironment(db, envName);
  if (!env) throw badRequest(`there is no environment "${envName}": log in to sandbox or production (they exist once Herald has started)`);
  const username = emailKey(String(input.username ?? ''));
  const password = String(input.password ?? '');

  const waitMs = await startLoginAttempt(db, username, address, now);
  if (waitMs > 0) {
    await writeAudit(db, { environmentId: env.id, actor: null, action: 'login.failed', target: username, address, details: { reason: 'throttled' } }, now);
    const seconds = Math.ceil(waitMs / 1000);
    throw new HeraldError('rate_limited', `too many failed logins for this username or from this address: try again in ${seconds} s`, { retryAfterSeconds: seconds });
  }

  const user = await findUserByEmail(db, username);
  const fail = async (reason: FailureReason): Promise<never> => {
    const at = deps.now?.() ?? Date.now();
    await recordLoginFailure(db, username, address, at);
    await writeAudit(db, { environmentId: env.id, actor: user?.id ?? null, action: 'login.failed', target: user?.id ?? username, address, details: { reason, username } }, at);
    throw BAD_CREDENTIALS();
  };

  if (!user) {
    await verifyDummyPassword(password);
    return fail('unknown_user');
  }
  if (!(await verifyPassword(user.passwordHash, password))) return fail('bad_password');
  if (user.status !== 'active') return fail('user_disabled');

  let method: 'totp' | 'recovery_code';
  if (input.totpCode) {
    if (!user.sealedTotpSecret) return fail('not_enrolled');
    const step = matchTotp(box.open(user.sealedTotpSecret), input.totpCode, now);
    if (step === undefined) return fail('bad_totp_code');
    if (!(await consumeTotpStep(db, user.id, step))) return fail('totp_code_reused');
    method = 'totp';
  } else if (input.recoveryCode) {
    if (!(await consumeRecoveryCode(db, user.id, input.recoveryCode, now))) return fail('bad_recovery_code');
    method = 'recovery_code';
  } else {
    return fail('no_second_factor');
  }

  // Who the user is is now proved; whether it may use this environment is another question, and
  // answering it plainly tells nothing to someone who could not have got this far.
  if (user.environmentId !== null && user.environmentId !== env.id) {
    await recordLoginSuccess(db, username);
    await writeAudit(db, { environmentId: env.id, actor: user.id, action: 'login.failed', target: user.id, address, details: { reason: 'environment_not_allowed', username } }, now);
    throw new HeraldError('forbidden', `this user may use the ${user.environmentId} environment only: log in to ${user.environmentId}`);
  }

  return db.tx(async (q) => {
    await recordLoginSuccess(q, username);
    await q.run('UPDATE users SET last_login_at = $1 WHERE id = $2', [now, user.id]);
    const { session, key } = await createSession(q, { userId: user.id, environmentId: env.id, tenantId: user.tenantId, address, ttlMs: deps.sessionTtlMs, now });
    await writeAudit(q, { environmentId: env.id, actor: user.id, action: 'login.succeeded', target: session.id, address, details: { method, username } }, now);
    return { user: await getUser(q, user.id), session, key };
  });
}
