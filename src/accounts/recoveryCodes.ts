import { createHash, randomBytes } from 'node:crypto';
import type { Queryable } from '../db/db.js';
import { newId } from '../ids.js';

// Ten single-use recovery codes per user, shown once, for when the authenticator is lost. A code
// is 16 characters of Crockford base32 (80 random bits) in four groups: xxxx-xxxx-xxxx-xxxx. With
// 80 bits nobody can guess one or reverse its hash, so a plain sha256 is stored and nothing keeps
// the code itself. Typing is forgiving: case, spaces and dashes do not matter, and the letters
// Crockford confuses (i, l → 1; o → 0) are read as the digits.
export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

function newCode(): string {
  const bytes = randomBytes(16);
  let s = '';
  for (let i = 0; i < 16; i++) s += ALPHABET[bytes[i] & 31];
  return `${s.slice(0, 4)}-${s.slice(4, 8)}-${s.slice(8, 12)}-${s.slice(12)}`;
}

export function normalizeRecoveryCode(code: string): string {
  return code
    .toLowerCase()
    .replace(/[\s-]+/g, '')
    .replace(/[il]/g, '1')
    .replace(/o/g, '0');
}

const hashCode = (code: string) => createHash('sha256').update(normalizeRecoveryCode(code)).digest('hex');

/** Replaces a user's recovery codes with ten new ones; answers them (the only time they are seen). */
export async function replaceRecoveryCodes(q: Queryable, userId: string, now: number): Promise<string[]> {
  await q.run('DELETE FROM recovery_codes WHERE user_id = $1', [userId]);
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  for (const code of codes) {
    await q.run('INSERT INTO recovery_codes (id, user_id, code_hash, created_at) VALUES ($1, $2, $3, $4)', [
      newId('rco', now),
      userId,
      hashCode(code),
      now,
    ]);
  }
  return codes;
}

/**
 * Uses up one recovery code: true when it was this user's and unused. The UPDATE's condition
 * `used_at IS NULL` makes it single-use even for two logins presenting it at the same instant.
 */
export async function consumeRecoveryCode(q: Queryable, userId: string, code: string, now: number): Promise<boolean> {
  const normalized = normalizeRecoveryCode(code);
  if (!/^[0-9a-z]{16}$/.test(normalized)) return false;
  const n = await q.run('UPDATE recovery_codes SET used_at = $1 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL', [
    now,
    userId,
    hashCode(code),
  ]);
  return n === 1;
}

export async function countUnusedRecoveryCodes(q: Queryable, userId: string): Promise<number> {
  const row = await q.one<{ n: number | string }>('SELECT COUNT(*) AS n FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL', [
    userId,
  ]);
  return Number(row?.n ?? 0);
}
