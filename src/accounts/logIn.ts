import type { Db, Queryable } from '../db/db.js';
import { badRequest, HeraldError } from '../errors.js';
import { getEnvironment } from '../keys/environments.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { writeAudit } from './audit.js';
import { type EnrolmentChallenge, findEnrolmentTicket, issueEnrolmentTicket, useEnrolmentTicket } from './enrolment.js';
import { recordLoginFailure, recordLoginSuccess, startLoginAttempt } from './loginThrottle.js';
import { verifyDummyPassword, verifyPassword } from './passwords.js';
import { consumeRecoveryCode, replaceRecoveryCodes } from './recoveryCodes.js';
import { createSession, type Session } from './sessions.js';
import { matchTotp } from './totp.js';
import {
  consumeTotpStep,
  emailKey,
  findUserByEmail,
  findUserCredentials,
  getUser,
  markLoggedIn,
  storeFirstTotpSecret,
  type User,
  type UserCredentials,
} from './users.js';

// logIn: the whole check, in the order that gives a guesser nothing. The throttle comes first
// (a locked username is refused even with the right password); then the password, verified
// against a dummy hash when no user has that email, so a wrong username costs the same time as a
// wrong password; then the second factor, always required: a TOTP code (accepted once) or a
// recovery code (used up). Every failure answers the same 401, whatever went wrong, and is
// written to the audit log with its real reason, for operators.
//
// A user created to enrol at its first login has no second factor yet: once the password (and
// only then) is right, logInOrEnrol answers an enrolment challenge instead of a session (a new
// secret and a ticket, enrolment.ts), and completeEnrolment turns the ticket and the first code
// from the authenticator into the user's second factor and a session. A wrong password is refused
// before anything about the second factor is looked at, so it answers alike for both kinds of user.
// The challenge is not a login: the attempt stays counted by the throttle until the enrolment
// completes, and a wrong code at completion is a failed login like any other.

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
  environment?: string;
  /** The client's address, for the throttle and the audit log. */
  address?: string | null;
}

export interface LoggedIn {
  user: User;
  session: Session;
  /** The session key: shown here once, stored only as a hash. */
  key: string;
}

/** The answer to the right password of a user with no second factor yet: no session, a challenge. */
export interface EnrolmentRequired {
  user: User;
  enrolment: EnrolmentChallenge;
}

export interface CompleteEnrolmentInput {
  /** The ticket logIn answered. */
  ticket: string;
  /** The first code the new authenticator shows. */
  totpCode: string;
  /** Default: sandbox. */
  environment?: string;
  address?: string | null;
}

const BAD_CREDENTIALS = () =>
  new HeraldError(
    'unauthorized',
    'the email, password or authentication code is wrong (a code from the authenticator works once: wait for the next one)',
  );

const BAD_TICKET = () =>
  new HeraldError(
    'unauthorized',
    'the enrolment ticket is unknown, used or expired (it works once, for 10 minutes): log in again with your email and password for a new one',
  );

type FailureReason =
  | 'unknown_user'
  | 'bad_password'
  | 'user_disabled'
  | 'no_second_factor'
  | 'bad_totp_code'
  | 'totp_code_reused'
  | 'bad_recovery_code'
  | 'not_enrolled'
  | 'bad_enrolment_code'
  | 'already_enrolled';

interface Attempt {
  deps: AccountsDeps;
  envId: string;
  /** The username as the throttle counts it (the email, lower-cased). */
  username: string;
  address: string | null;
  now: number;
}

async function environmentOf(deps: AccountsDeps, name: string | undefined) {
  const envName = name ?? 'sandbox';
  const env = await getEnvironment(deps.db, envName);
  if (!env) throw badRequest(`there is no environment "${envName}": log in to sandbox or production (they exist once Herald has started)`);
  return env;
}

/** Counts the attempt; refuses it (RATE_LIMITED) when the username or the address is locked. */
async function startAttempt(a: Attempt): Promise<void> {
  const waitMs = await startLoginAttempt(a.deps.db, a.username, a.address, a.now);
  if (waitMs <= 0) return;
  await writeAudit(
    a.deps.db,
    {
      environmentId: a.envId,
      actor: null,
      action: 'login.failed',
      target: a.username,
      address: a.address,
      details: { reason: 'throttled' },
    },
    a.now,
  );
  const seconds = Math.ceil(waitMs / 1000);
  throw new HeraldError('rate_limited', `too many failed logins for this username or from this address: try again in ${seconds} s`, {
    retryAfterSeconds: seconds,
  });
}

/** A failed login: counted, audited with its real reason, answered like every other. */
async function failed(a: Attempt, user: { id: string } | undefined, reason: FailureReason): Promise<never> {
  const at = a.deps.now?.() ?? Date.now();
  await recordLoginFailure(a.deps.db, a.username, a.address, at);
  await writeAudit(
    a.deps.db,
    {
      environmentId: a.envId,
      actor: user?.id ?? null,
      action: 'login.failed',
      target: user?.id ?? a.username,
      address: a.address,
      details: { reason, username: a.username },
    },
    at,
  );
  throw BAD_CREDENTIALS();
}

/**
 * Who the user is is proved; whether it may use this environment is another question, and
 * answering it plainly tells nothing to someone who could not have got this far.
 */
async function refuseOtherEnvironment(a: Attempt, user: UserCredentials): Promise<void> {
  if (user.environmentId === null || user.environmentId === a.envId) return;
  await recordLoginSuccess(a.deps.db, a.username);
  await writeAudit(
    a.deps.db,
    {
      environmentId: a.envId,
      actor: user.id,
      action: 'login.failed',
      target: user.id,
      address: a.address,
      details: { reason: 'environment_not_allowed', username: a.username },
    },
    a.now,
  );
  throw new HeraldError('forbidden', `this user may use the ${user.environmentId} environment only: log in to ${user.environmentId}`);
}

/** The session of a login that succeeded, in the transaction `q`. */
async function startSession(q: Queryable, a: Attempt, user: UserCredentials, method: string): Promise<LoggedIn> {
  await recordLoginSuccess(q, a.username);
  await markLoggedIn(q, user.id, a.now);
  const { session, key } = await createSession(q, {
    userId: user.id,
    environmentId: a.envId,
    tenantId: user.tenantId,
    address: a.address,
    ttlMs: a.deps.sessionTtlMs,
    now: a.now,
  });
  await writeAudit(
    q,
    {
      environmentId: a.envId,
      actor: user.id,
      action: 'login.succeeded',
      target: session.id,
      address: a.address,
      details: { method, username: a.username },
    },
    a.now,
  );
  return { user: await getUser(q, user.id), session, key };
}

async function check(deps: AccountsDeps, input: LogInInput, enrol: boolean): Promise<LoggedIn | EnrolmentRequired> {
  const { db, box } = deps;
  const env = await environmentOf(deps, input.environment);
  const a: Attempt = {
    deps,
    envId: env.id,
    username: emailKey(String(input.username ?? '')),
    address: input.address ?? null,
    now: deps.now?.() ?? Date.now(),
  };
  const password = String(input.password ?? '');
  await startAttempt(a);

  const user = await findUserByEmail(db, a.username);
  if (!user) {
    await verifyDummyPassword(password);
    return failed(a, undefined, 'unknown_user');
  }
  if (!(await verifyPassword(user.passwordHash, password))) return failed(a, user, 'bad_password');
  if (user.status !== 'active') return failed(a, user, 'user_disabled');

  if (!user.sealedTotpSecret) {
    // Whatever code came with it cannot be right: there is no secret yet. Enrol instead.
    if (!enrol) return failed(a, user, 'not_enrolled');
    await refuseOtherEnvironment(a, user);
    return db.tx(async (q) => {
      const enrolment = await issueEnrolmentTicket(q, box, user, a.now);
      await writeAudit(
        q,
        {
          environmentId: a.envId,
          actor: user.id,
          action: 'user.enrolment_started',
          target: user.id,
          address: a.address,
          details: { username: a.username, expiresAt: enrolment.expiresAt },
        },
        a.now,
      );
      return { user: await getUser(q, user.id), enrolment };
    });
  }

  let method: 'totp' | 'recovery_code';
  if (input.totpCode) {
    const step = matchTotp(box.open(user.sealedTotpSecret), input.totpCode, a.now);
    if (step === undefined) return failed(a, user, 'bad_totp_code');
    if (!(await consumeTotpStep(db, user.id, step))) return failed(a, user, 'totp_code_reused');
    method = 'totp';
  } else if (input.recoveryCode) {
    if (!(await consumeRecoveryCode(db, user.id, input.recoveryCode, a.now))) return failed(a, user, 'bad_recovery_code');
    method = 'recovery_code';
  } else {
    return failed(a, user, 'no_second_factor');
  }

  await refuseOtherEnvironment(a, user);
  return db.tx((q) => startSession(q, a, user, method));
}

/** Logs a user with a second factor in; a user that has none yet is refused like a wrong code. */
export async function logIn(deps: AccountsDeps, input: LogInInput): Promise<LoggedIn> {
  return (await check(deps, input, false)) as LoggedIn;
}

/**
 * logIn, and for a user created to enrol at its first login (no second factor yet), the
 * enrolment challenge once its password is right: no session until completeEnrolment.
 */
export async function logInOrEnrol(deps: AccountsDeps, input: LogInInput): Promise<LoggedIn | EnrolmentRequired> {
  return check(deps, input, true);
}

/**
 * The end of a first-login enrolment: the ticket logIn answered and the first code of the new
 * authenticator. The code proves the authenticator holds the secret; then, in one transaction,
 * the ticket is used up, the secret (sealed) becomes the user's, ten recovery codes are made (shown
 * here once) and a session starts. A wrong code counts as a failed login and leaves the ticket
 * usable until it expires; an unknown, used or expired ticket is refused.
 */
export async function completeEnrolment(
  deps: AccountsDeps,
  input: CompleteEnrolmentInput,
): Promise<LoggedIn & { recoveryCodes: string[] }> {
  const { db, box } = deps;
  const env = await environmentOf(deps, input.environment);
  const now = deps.now?.() ?? Date.now();
  const ticket = await findEnrolmentTicket(db, String(input.ticket ?? ''), now);
  const user = ticket && (await findUserCredentials(db, ticket.userId));
  if (!ticket || !user) throw BAD_TICKET();
  const a: Attempt = { deps, envId: env.id, username: emailKey(user.email), address: input.address ?? null, now };
  await startAttempt(a);
  if (user.status !== 'active') return failed(a, user, 'user_disabled');
  if (user.sealedTotpSecret) return failed(a, user, 'already_enrolled');
  const secret = box.open(ticket.sealedTotpSecret);
  const step = matchTotp(secret, String(input.totpCode ?? ''), now);
  if (step === undefined) return failed(a, user, 'bad_enrolment_code');
  await refuseOtherEnvironment(a, user);

  return db.tx(async (q) => {
    if (!(await useEnrolmentTicket(q, ticket.id, now))) throw BAD_TICKET();
    if (!(await storeFirstTotpSecret(q, user.id, box.seal(secret), step, now))) throw BAD_TICKET();
    const recoveryCodes = await replaceRecoveryCodes(q, user.id, now);
    await writeAudit(
      q,
      {
        environmentId: env.id,
        actor: user.id,
        action: 'user.enrolled',
        target: user.id,
        address: a.address,
        details: { username: a.username },
      },
      now,
    );
    const loggedIn = await startSession(q, a, user, 'enrolment');
    return { ...loggedIn, recoveryCodes };
  });
}
