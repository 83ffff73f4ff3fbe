import { Algorithm, hash, verify } from '@node-rs/argon2';
import { randomBytes } from 'node:crypto';
import { badRequest } from '../errors.js';

// Passwords are hashed with argon2id at OWASP's recommended parameters (Password Storage Cheat
// Sheet: m=19 MiB, t=2, p=1). The PHC string keeps salt and parameters, so raising them later
// leaves older hashes verifiable.
export const ARGON2_OPTIONS = { algorithm: Algorithm.Argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_CHARS = 12;
/** Long enough for any passphrase; bounded so one request cannot make the hash read megabytes. */
export const PASSWORD_MAX_CHARS = 1024;

/**
 * The password as it is hashed: Unicode NFC, so the same password typed on two keyboards (a
 * precomposed "é" or "e" + accent) is the same password. Throws a 400 that says what to change.
 */
export function checkPassword(password: string): string {
  const normalized = password.normalize('NFC');
  const chars = [...normalized].length;
  if (chars < PASSWORD_MIN_CHARS) {
    throw badRequest(
      `the password is ${chars} characters long; it must have at least ${PASSWORD_MIN_CHARS} (a passphrase of a few words is easiest to remember)`,
    );
  }
  if (chars > PASSWORD_MAX_CHARS) throw badRequest(`the password is ${chars} characters long; it may have at most ${PASSWORD_MAX_CHARS}`);
  if (normalized.trim() === '') throw badRequest('the password is only spaces; choose one with other characters');
  return normalized;
}

export function hashPassword(password: string): Promise<string> {
  return hash(checkPassword(password), ARGON2_OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  if (password.length > PASSWORD_MAX_CHARS * 4) return false;
  try {
    return await verify(stored, password.normalize('NFC'));
  } catch {
    return false; // a malformed stored hash verifies nothing
  }
}

// A login for a username no user has still costs one argon2 verification, against this hash of a
// random password, so the answer takes as long as for a real user with a wrong password.
let dummy: Promise<string> | undefined;

export async function verifyDummyPassword(password: string): Promise<false> {
  dummy ??= hash(randomBytes(24).toString('base64url'), ARGON2_OPTIONS);
  await verifyPassword(await dummy, password);
  return false;
}
