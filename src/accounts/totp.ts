import { generateSecret, generateSync, generateURI, verifySync } from 'otplib';
import QRCode from 'qrcode';
import type { Queryable } from '../db/db.js';

// TOTP per RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, a code of the step before or after the
// current one still accepted (clock drift, a code typed as the step turned). otplib does the RFC
// (v13, functional API; its default crypto is the audited noble-hashes, its base32 is scure's);
// what is Herald's own is that a code works once: the step of the last accepted code is stored
// per user and only a later step is accepted, decided by one conditional UPDATE.

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const ISSUER = 'Herald';

/** A new secret: 20 random bytes (160 bits, RFC 4226's recommended length), base32. */
export function newTotpSecret(): string {
  return generateSecret({ length: 20 });
}

/**
 * The code of the step holding `epochSeconds`. `secret` is base32, or the raw key bytes (the
 * RFC's test vectors give an ASCII key). `digits` is 6 for Herald; the RFC's vectors use 8.
 */
export function totpCode(secret: string | Uint8Array, epochSeconds: number, digits: 6 | 7 | 8 = TOTP_DIGITS): string {
  return generateSync({ secret, epoch: epochSeconds, digits, period: TOTP_PERIOD_SECONDS, algorithm: 'sha1' });
}

/**
 * The time step `code` belongs to, if it is the code of the current step or of the one before or
 * after it; undefined otherwise. The comparison is constant-time (otplib).
 */
export function matchTotp(secret: string, code: string, nowMs: number): number | undefined {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  // A tolerance of one period in seconds reaches exactly the step before and the step after.
  const r = verifySync({ secret, token, epoch: Math.floor(nowMs / 1000), epochTolerance: TOTP_PERIOD_SECONDS, period: TOTP_PERIOD_SECONDS, digits: TOTP_DIGITS, algorithm: 'sha1' });
  // otplib types the answer for TOTP and HOTP alike; a TOTP match carries its time step.
  return r.valid && 'timeStep' in r ? r.timeStep : undefined;
}

/**
 * Accepts `step` for this user once: true for the first login that presents a code of this step
 * (or a later one than any accepted before), false for every other. One UPDATE with the condition
 * in its WHERE: two logins racing with the same code cannot both change the row.
 */
export async function consumeTotpStep(q: Queryable, userId: string, step: number): Promise<boolean> {
  const n = await q.run('UPDATE users SET totp_last_step = $1 WHERE id = $2 AND (totp_last_step IS NULL OR totp_last_step < $1)', [step, userId]);
  return n === 1;
}

/** The otpauth:// URI an authenticator app reads from a QR code. */
export function otpauthUri(secret: string, account: string): string {
  return generateURI({ issuer: ISSUER, label: account, secret, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD_SECONDS });
}

/** The enrolment QR code of an otpauth:// URI: an SVG document and the same as a data: URL for an <img>. */
export async function totpQrCode(uri: string): Promise<{ svg: string; dataUrl: string }> {
  const svg = await QRCode.toString(uri, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return { svg, dataUrl: `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}` };
}

/** The QR code drawn with block characters, for the CLI's terminal. */
export function totpQrTerminal(uri: string): Promise<string> {
  return QRCode.toString(uri, { type: 'terminal', small: true, errorCorrectionLevel: 'M' });
}
