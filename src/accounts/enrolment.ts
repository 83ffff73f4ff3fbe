import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import { newId } from '../ids.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { newTotpSecret, otpauthUri } from './totp.js';

// First-login enrolment: the tickets. A user created without a second factor who logs in with the
// right password gets, instead of a session, a new TOTP secret to put in an authenticator and a
// ticket (`enr_` + 256 random bits) to send back with the first code (completeEnrolment in
// logIn.ts). The ticket is stored as its sha256, like session keys; the secret waits beside it
// sealed, and reaches the user's row only when a code proves the authenticator holds it. A ticket
// is bound to its user, works once and for ten minutes, and a new one replaces the user's last.

export const ENROLMENT_TICKET_TTL_MS = 10 * 60_000;
const TICKET_PREFIX = 'enr_';

const hashTicket = (ticket: string) => createHash('sha256').update(ticket).digest('hex');

/** What the person enrolling sees: the secret (as a URI for the QR code, and for typing) and the ticket. */
export interface EnrolmentChallenge {
  /** Send it back with the first code; works once, until expiresAt. */
  ticket: string;
  totpSecret: string;
  otpauthUri: string;
  expiresAt: string;
}

/** A new ticket and secret for this user; the user's earlier tickets stop working. */
export async function issueEnrolmentTicket(
  q: Queryable,
  box: SecretBox,
  user: { id: string; email: string },
  now: number,
): Promise<EnrolmentChallenge> {
  const ticket = TICKET_PREFIX + randomBytes(32).toString('base64url');
  const totpSecret = newTotpSecret();
  const expiresAt = now + ENROLMENT_TICKET_TTL_MS;
  await q.run('DELETE FROM enrolment_tickets WHERE user_id = $1', [user.id]);
  await q.run(
    `INSERT INTO enrolment_tickets (id, user_id, ticket_hash, totp_secret, created_at, expires_at)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [newId('enr', now), user.id, hashTicket(ticket), box.seal(totpSecret), now, expiresAt],
  );
  return { ticket, totpSecret, otpauthUri: otpauthUri(totpSecret, user.email), expiresAt: new Date(expiresAt).toISOString() };
}

export interface EnrolmentTicket {
  id: string;
  userId: string;
  /** Sealed; open with the SecretBox. */
  sealedTotpSecret: string;
}

/** The ticket, if it is one of ours, unused and unexpired; undefined otherwise (whichever it is). */
export async function findEnrolmentTicket(q: Queryable, ticket: string, now: number): Promise<EnrolmentTicket | undefined> {
  if (!ticket.startsWith(TICKET_PREFIX)) return undefined;
  const row = await q.one<{ id: string; user_id: string; totp_secret: string }>(
    'SELECT id, user_id, totp_secret FROM enrolment_tickets WHERE ticket_hash = $1 AND used_at IS NULL AND expires_at > $2',
    [hashTicket(ticket), now],
  );
  return row && { id: row.id, userId: row.user_id, sealedTotpSecret: row.totp_secret };
}

/**
 * Uses the ticket up: true for the one completion that does, false for any other. The condition
 * in the UPDATE makes it single-use even for two completions racing with the same ticket.
 */
export async function useEnrolmentTicket(q: Queryable, ticketId: string, now: number): Promise<boolean> {
  return (await q.run('UPDATE enrolment_tickets SET used_at = $1 WHERE id = $2 AND used_at IS NULL', [now, ticketId])) === 1;
}

/** Forgets tickets a day after their expiry (the maintenance loop may call it). */
export async function pruneEnrolmentTickets(q: Queryable, now: number): Promise<number> {
  return q.run('DELETE FROM enrolment_tickets WHERE expires_at < $1', [now - 86_400_000]);
}
