import { UsageError } from './errors.js';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/**
 * A point in time given on the command line: an ISO 8601 date-time (`2025-06-01T09:00:00Z`) or a
 * time ago (`90s`, `30m`, `2h`, `7d`).
 */
export function parseWhen(raw: string, option: string, now = Date.now()): number {
  const ago = /^(\d+)\s*(s|m|h|d)$/.exec(raw.trim());
  if (ago) return now - Number(ago[1]) * UNIT_MS[ago[2] as keyof typeof UNIT_MS];
  // A date alone would be read as UTC midnight, a date-time without a zone as local time: ask for the zone.
  if (/^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?([Zz]|[+-]\d\d:\d\d)$/.test(raw.trim())) {
    const ms = Date.parse(raw);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new UsageError(
    `${option} must be a time ago like 30m, 2h, 7d, or an ISO 8601 date-time with a zone like 2025-06-01T09:00:00Z; got "${raw}"`,
  );
}

/** `A,B , C` → ['A', 'B', 'C']; empty parts dropped. */
export function splitList(raw: string | undefined): string[] {
  return (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A required option, or a UsageError naming it. */
export function required(value: string | undefined, option: string, example: string): string {
  if (value === undefined || value === '') throw new UsageError(`${option} is required (e.g. ${option} ${example})`);
  return value;
}
