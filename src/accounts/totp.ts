import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import QRCode from 'qrcode';

// TOTP per RFC 6238: HMAC-SHA-1, 6 digits, 30-second steps, a code of the step before or after the
// current one still accepted (clock drift, a code typed as the step turned). Written here on
// node:crypto rather than taken from otplib: otplib 13 brings @noble/hashes 2 to compute what
// node:crypto already does, and the algorithm is a dozen lines that the RFC's own
// test vectors check (test/accounts.test.ts). What is Herald's own is that a code works once: the
// step of the last accepted code is stored per user and only a later step is accepted, decided by
// one conditional UPDATE.

export const TOTP_PERIOD_SECONDS = 30;
export const TOTP_DIGITS = 6;
const ISSUER = 'Herald';

// RFC 4648 base32, the encoding authenticator apps expect for the secret.
const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(text: string): Buffer {
  const clean = text.toUpperCase().replace(/[\s=]+/g, '');
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const v = B32.indexOf(ch);
    if (v < 0) throw new Error(`"${ch}" is not a base32 character`);
    value = ((value << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new secret: 20 random bytes (160 bits, the length RFC 4226 recommends), base32. */
export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** HOTP (RFC 4226 §5.3): HMAC-SHA-1 of the counter, dynamically truncated to `digits` digits. */
function hotp(key: Uint8Array, counter: number, digits: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', key).update(msg).digest();
  const offset = mac[mac.length - 1] & 0x0f;
  const bin = mac.readUInt32BE(offset) & 0x7fffffff;
  return String(bin % 10 ** digits).padStart(digits, '0');
}

const keyOf = (secret: string | Uint8Array) => (typeof secret === 'string' ? base32Decode(secret) : secret);

/**
 * The code of the step holding `epochSeconds`. `secret` is base32, or the raw key bytes (the
 * RFC's test vectors give an ASCII key). `digits` is 6 for Herald; the RFC's vectors use 8.
 */
export function totpCode(secret: string | Uint8Array, epochSeconds: number, digits = TOTP_DIGITS): string {
  return hotp(keyOf(secret), Math.floor(epochSeconds / TOTP_PERIOD_SECONDS), digits);
}

/**
 * The time step `code` belongs to, if it is the code of the current step or of the one before or
 * after it; undefined otherwise. All three are compared, each in constant time, so the answer
 * takes as long whichever step matched.
 */
export function matchTotp(secret: string, code: string, nowMs: number): number | undefined {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return undefined;
  const key = keyOf(secret);
  const current = Math.floor(nowMs / 1000 / TOTP_PERIOD_SECONDS);
  let matched: number | undefined;
  for (const step of [current - 1, current, current + 1]) {
    if (timingSafeEqual(Buffer.from(hotp(key, step, TOTP_DIGITS)), Buffer.from(token)) && matched === undefined) matched = step;
  }
  return matched;
}

/** The otpauth:// URI an authenticator app reads from a QR code. */
export function otpauthUri(secret: string, account: string): string {
  // Google's Key URI format: the label is "issuer:account", the issuer also as a parameter.
  const query = new URLSearchParams({
    secret,
    issuer: ISSUER,
    algorithm: 'SHA1',
    digits: String(TOTP_DIGITS),
    period: String(TOTP_PERIOD_SECONDS),
  });
  return `otpauth://totp/${encodeURIComponent(ISSUER)}:${encodeURIComponent(account)}?${query.toString()}`;
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
