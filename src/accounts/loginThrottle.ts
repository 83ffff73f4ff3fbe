import type { Db, Queryable } from '../db/db.js';

// Failed logins are counted in the database, so every node sees the same counts.
//
// Per username: ten failures in a row lock the name for 60 s, even for the right password, and
// every further failure before a success locks it again, twice as long each time up to 16 min
// (60, 120, 240, 480, 960 s): a guesser gets about a hundred tries a day instead of one a minute.
// Names no user has are counted the same way, so the throttle tells nothing about who exists.
// An attempt is counted when it starts, not when it fails: a hundred guesses sent at once while
// the count is at nine cannot all be checked before the tenth failure is written. A success
// clears the count.
//
// Per client address: many people may share one (an office behind one NAT), so the limit is
// generous: 100 failures in a 15-minute window, counted on failure only, and a success does not
// clear it (one good account must not unlock guessing at the others).

export const USERNAME_FAILURE_LIMIT = 10;
export const USERNAME_LOCK_MS = 60_000;
const USERNAME_LOCK_MAX_DOUBLINGS = 4;
export const ADDRESS_FAILURE_LIMIT = 100;
export const ADDRESS_WINDOW_MS = 15 * 60_000;

const userSubject = (username: string) => `user:${username}`;
const addressSubject = (address: string) => `addr:${address}`;

const lockMs = (failures: number) =>
  USERNAME_LOCK_MS * 2 ** Math.min(Math.max(failures - USERNAME_FAILURE_LIMIT, 0), USERNAME_LOCK_MAX_DOUBLINGS);

interface ThrottleRow {
  failures: number;
  window_start: number;
  locked_until: number | null;
}

const forUpdate = (q: Queryable) => (q.dialect === 'postgres' ? ' FOR UPDATE' : '');

/**
 * Starts a login attempt: answers 0 when it may go on (and counts it), or the milliseconds to wait
 * when the username or the address is throttled (nothing is counted then).
 */
export async function startLoginAttempt(db: Db, username: string, address: string | null | undefined, now: number): Promise<number> {
  return db.tx(async (q) => {
    if (address) {
      const a = await q.one<ThrottleRow>('SELECT failures, window_start, locked_until FROM login_throttle WHERE subject = $1', [
        addressSubject(address),
      ]);
      const windowEnd = a ? Number(a.window_start) + ADDRESS_WINDOW_MS : 0;
      if (a && windowEnd > now && a.failures >= ADDRESS_FAILURE_LIMIT) return windowEnd - now;
    }
    const subject = userSubject(username);
    // One statement creates the row or locks the one there (Postgres holds the row lock of the
    // upsert until commit; SQLite transactions are serialised), so concurrent attempts count one
    // after the other. An INSERT … DO NOTHING followed by SELECT … FOR UPDATE left a gap in which a
    // successful login could delete the row, and the SELECT then found nothing.
    const u = (await q.one<ThrottleRow>(
      `INSERT INTO login_throttle (subject, failures, window_start, locked_until) VALUES ($1, 0, $2, NULL)
       ON CONFLICT (subject) DO UPDATE SET subject = excluded.subject
       RETURNING failures, window_start, locked_until`,
      [subject, now],
    ))!;
    if (u.locked_until !== null && Number(u.locked_until) > now) return Number(u.locked_until) - now;
    const failures = u.failures + 1;
    // The attempt that reaches the limit locks the name while it is checked; a success unlocks it.
    const lockedUntil = failures >= USERNAME_FAILURE_LIMIT ? now + lockMs(failures) : null;
    await q.run('UPDATE login_throttle SET failures = $1, locked_until = $2 WHERE subject = $3', [failures, lockedUntil, subject]);
    return 0;
  });
}

/** The attempt failed: the username keeps its count (and its lock, from now); the address counts one. */
export async function recordLoginFailure(db: Db, username: string, address: string | null | undefined, now: number): Promise<void> {
  await db.tx(async (q) => {
    const subject = userSubject(username);
    const u = await q.one<ThrottleRow>(`SELECT failures FROM login_throttle WHERE subject = $1${forUpdate(q)}`, [subject]);
    if (u && u.failures >= USERNAME_FAILURE_LIMIT) {
      // The lock runs from the failure, not from the start of the attempt (which hashed meanwhile).
      await q.run('UPDATE login_throttle SET locked_until = $1 WHERE subject = $2', [now + lockMs(u.failures), subject]);
    }
    if (address) {
      await q.run(
        `INSERT INTO login_throttle (subject, failures, window_start, locked_until) VALUES ($1, 1, $2, NULL)
         ON CONFLICT (subject) DO UPDATE SET
           failures = CASE WHEN login_throttle.window_start + $3 <= $2 THEN 1 ELSE login_throttle.failures + 1 END,
           window_start = CASE WHEN login_throttle.window_start + $3 <= $2 THEN $2 ELSE login_throttle.window_start END`,
        [addressSubject(address), now, ADDRESS_WINDOW_MS],
      );
    }
  });
}

/** The attempt succeeded: the username's count and lock are cleared. */
export async function recordLoginSuccess(q: Queryable, username: string): Promise<void> {
  await q.run('DELETE FROM login_throttle WHERE subject = $1', [userSubject(username)]);
}

/**
 * Forgets counts nobody needs any more (unlocked names and address windows over for a day), so
 * guessing at many names does not grow the table forever. The maintenance loop may call it.
 */
export async function pruneLoginThrottle(q: Queryable, now: number): Promise<number> {
  return q.run('DELETE FROM login_throttle WHERE window_start < $1 AND (locked_until IS NULL OR locked_until < $2)', [
    now - 86_400_000,
    now,
  ]);
}
