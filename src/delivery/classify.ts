import { nextRetryDelay } from './retryPolicy.js';
import type { SendResult } from './send.js';
import type { ClaimedDelivery } from './sql/claimDueDeliveries.js';
import type { AttemptOutcome } from './sql/recordAttempts.js';
import { DeliveryStatus } from './status.js';

/**
 * What an attempt leaves the delivery as: delivered (`S`), tried again at `dueAt` (`I`), or given
 * up for good (`F`). Deferring without counting an attempt is not a verdict on an answer: it is
 * decided before sending, when an endpoint's gate or a tenant's share refuses (endpointQueue.ts).
 */
export type Verdict = AttemptOutcome['next'];

// Shared: a verdict is read, never changed, and these two need no per-delivery object.
const DELIVERED: Verdict = Object.freeze({ status: DeliveryStatus.Succeeded });
const GIVEN_UP: Verdict = Object.freeze({ status: DeliveryStatus.Failed });

/** The verdict a refused request (no request sent: see prepare.ts) always gets. */
export const REFUSED = GIVEN_UP;

/**
 * The verdict on the answer to a delivery's next attempt (its `attempts` so far, plus this one),
 * or on the lack of one. Any 2xx delivers; anything else is retried on the schedule
 * (`retryPolicy.ts`), counted from the delivery's last manual resend, or given up once the schedule
 * is used up. Pure: `now` and `random` (the jitter) are passed in.
 */
export function classify(
  r: Pick<SendResult, 'statusCode' | 'retryAfterMs'>,
  d: Pick<ClaimedDelivery, 'attempts' | 'scheduleStart'>,
  schedule: number[],
  now: number,
  random: () => number = Math.random,
): Verdict {
  if (delivered(r.statusCode)) return DELIVERED;
  // 410 Gone: the endpoint says it will never take this again (it is disabled in the same
  // write); retrying would only turn the 410 into "endpoint disabled" on the delivery.
  const delay = r.statusCode === 410 ? null : nextRetryDelay(schedule, d.attempts + 1 - d.scheduleStart, r.retryAfterMs, random);
  return delay === null ? GIVEN_UP : { status: DeliveryStatus.InProgress, dueAt: now + delay };
}

/** What the delivery log says about an answer: null for a 2xx, else what went wrong. */
export function failureReason(r: Pick<SendResult, 'statusCode' | 'error'>): string | null {
  if (delivered(r.statusCode)) return r.error;
  if (r.statusCode !== null && r.statusCode >= 300 && r.statusCode < 400) return `redirect (${r.statusCode}) not followed`;
  if (r.statusCode !== null) return `endpoint answered ${r.statusCode}`;
  return r.error;
}

function delivered(statusCode: number | null): boolean {
  return statusCode !== null && statusCode >= 200 && statusCode < 300;
}
