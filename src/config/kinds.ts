// The kinds of value a setting can hold. A kind pairs the words the configuration reference shows
// in its "type" column with the reader that enforces them, so the documented rule and the checked
// one are the same code. A reader gets the variable's text (its declared default when unset or
// empty) and throws a ConfigError that names the variable, says what it accepts and what it got.
import net from 'node:net';

export class ConfigError extends Error {}

export interface Kind<T> {
  /** What the variable holds, in the reference's words (markdown). */
  type: string;
  read: (raw: string, name: string) => T;
}

/** A number of at least `min` (fractions allowed, as they always were). */
export function number(min = 0): Kind<number> {
  return { type: `number ≥ ${min}`, read: (raw, name) => toNumber(raw, name, min) };
}

export function toNumber(raw: string, name: string, min: number): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) throw new ConfigError(`${name} must be a number ≥ ${min}, got "${raw}"`);
  return n;
}

/** Seconds in the variable, milliseconds in the config. */
export function seconds(min = 0): Kind<number> {
  return { type: `seconds ≥ ${min}`, read: (raw, name) => Math.round(toNumber(raw, name, min) * 1000) };
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 } as const;

/** Seconds, or a number with a unit (`30m`, `12h`, `5d`); milliseconds in the config. */
export function duration(): Kind<number> {
  return {
    type: 'seconds, or a duration like `30m`, `12h`, `5d`',
    read: (raw, name) => {
      const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(raw.trim());
      if (!m) throw new ConfigError(`${name} must be seconds or a duration like 30m, 12h, 5d; got "${raw}"`);
      return Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? 's') as keyof typeof UNIT_MS]);
    },
  };
}

/** On or off: `1`/`true` or `0`/`false`. */
export function flag(): Kind<boolean> {
  return {
    type: '`1` (on) or `0` (off)',
    read: (raw, name) => {
      const v = raw.trim().toLowerCase();
      if (v === '' || v === '0' || v === 'false') return false;
      if (v === '1' || v === 'true') return true;
      throw new ConfigError(`${name} must be 1 (on) or 0 (off); got "${raw}"`);
    },
  };
}

/** One of a few words, in any case. */
export function oneOf<const V extends string>(values: readonly V[]): Kind<V> {
  const words = values.map((v) => `"${v}"`);
  const list = words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : words[0];
  return {
    type: values.map((v) => `\`${v}\``).join(', '),
    read: (raw, name) => {
      const v = raw.trim().toLowerCase();
      if (!(values as readonly string[]).includes(v)) throw new ConfigError(`${name} must be ${list}; got "${raw}"`);
      return v as V;
    },
  };
}

/** A key that seals secrets: long enough that guessing it is hopeless. */
export function secretKey(raw: string, name: string): string {
  if (raw.length < 32)
    throw new ConfigError(`${name} must be at least 32 characters long (e.g. the output of \`openssl rand -base64 48\`)`);
  return raw;
}

export function httpUrl(raw: string, name: string): string {
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.toString();
  } catch {
    // Not a URL at all: the same answer as a URL of another scheme.
  }
  throw new ConfigError(`${name} must be an http(s) URL; got "${raw}"`);
}

export function cidrList(raw: string, name: string): string[] {
  if (!raw.trim()) return [];
  return raw.split(',').map((c) => {
    const s = c.trim();
    const [addr, bits] = s.split('/');
    const v = net.isIP(addr);
    const max = v === 4 ? 32 : 128;
    if (!v || bits === undefined || !/^\d+$/.test(bits) || Number(bits) > max) {
      throw new ConfigError(`${name}: "${s}" is not a CIDR like 10.0.0.0/8 or fd00::/8`);
    }
    return s;
  });
}

export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

export function parseRetrySchedule(raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return DEFAULT_RETRY_SCHEDULE;
  const parts = raw.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (out.some((n, i) => parts[i] === '' || !Number.isFinite(n) || n < 0)) {
    throw new ConfigError(`HERALD_RETRY_SCHEDULE must be comma-separated seconds, like "5,300,1800"; got "${raw}"`);
  }
  return out;
}
