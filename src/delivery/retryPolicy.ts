// When to try again. The schedule lists the seconds to wait after each failed attempt; once it is
// used up the delivery fails for good. Jitter (±20 %) keeps endpoints that failed together from
// being retried together. A 429 or 503 with retry-after waits as long as the endpoint asked.

const MAX_RETRY_AFTER_MS = 24 * 3600 * 1000;

/** Milliseconds to wait, or null when the schedule is used up. `failedInRound` counts this failure. */
export function nextRetryDelay(
  schedule: number[],
  failedInRound: number,
  retryAfterMs: number | null,
  random = Math.random,
): number | null {
  if (failedInRound > schedule.length) return null;
  if (retryAfterMs !== null) return Math.min(retryAfterMs, MAX_RETRY_AFTER_MS);
  const base = schedule[failedInRound - 1] * 1000;
  return Math.round(base * (0.8 + 0.4 * random()));
}

/** Parses retry-after: seconds, or an HTTP date. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | null {
  const v = Array.isArray(value) ? value[0] : value;
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}
