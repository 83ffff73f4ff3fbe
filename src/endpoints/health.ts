import type { Queryable } from '../db/db.js';
import { chunks, placeholders } from '../db/sql.js';

// Endpoint health, updated in the same transaction that records attempts. Per endpoint, in the
// order its attempts finished:
// - a success closes the circuit and clears the failure count ("recovered" if it was failing);
// - a failure counts; at `threshold` consecutive failures the circuit opens: the claim query then
//   skips the endpoint, and when the circuit half-opens the worker sends one probe at a time. The
//   circuit stays open for a quarter of the time the endpoint has been failing, at least
//   `cooldownMs`, at most an hour. (Not doubled per failure: the deliveries already in flight when
//   the circuit opens all fail too, and would push the wait to the cap at once.)
// - a 410 Gone, or failing without a success for longer than `disableAfterMs`, disables it, with
//   the reason and the time (shown on the endpoint as disabledReason / disabledAt). An endpoint
//   already disabled (by a PATCH, say) keeps its own reason and time.
// Answers the transitions, for operational events.

export interface HealthPolicy {
  threshold: number;
  cooldownMs: number;
  disableAfterMs: number;
}

export interface AttemptResult {
  endpointId: string;
  ok: boolean;
  statusCode: number | null;
  at: number;
}

export type HealthTransition =
  | { kind: 'failing'; endpointId: string; failures: number }
  | { kind: 'recovered'; endpointId: string; failingSince: number }
  | { kind: 'disabled'; endpointId: string; reason: string };

const MAX_COOLDOWN_MS = 3600_000;

export async function updateEndpointHealth(q: Queryable, results: AttemptResult[], policy: HealthPolicy): Promise<HealthTransition[]> {
  const byEndpoint = new Map<string, AttemptResult[]>();
  for (const r of results) {
    const list = byEndpoint.get(r.endpointId);
    if (list) list.push(r);
    else byEndpoint.set(r.endpointId, [r]);
  }
  if (byEndpoint.size === 0) return [];
  const out: HealthTransition[] = [];
  for (const ids of chunks(q.dialect, [...byEndpoint.keys()], 500)) {
    // One read for the batch's endpoints, in id order and locked on Postgres (the lock the UPDATE
    // would take): two batches touching the same endpoints lock them in the same order, and a
    // batch and the deletion of an endpoint take the endpoint before its deliveries.
    const rows = await q.all<{
      id: string;
      consecutive_failures: number;
      failing_since: number | string | null;
      circuit_open_until: number | string | null;
      enabled: number;
    }>(
      `SELECT id, consecutive_failures, failing_since, circuit_open_until, enabled FROM endpoints
        WHERE id IN (${placeholders(ids.length)}) ORDER BY id${q.dialect === 'postgres' ? ' FOR NO KEY UPDATE' : ''}`,
      ids,
    );
    for (const ep of rows) {
      const endpointId = ep.id;
      const before = {
        failures: ep.consecutive_failures,
        failingSince: ep.failing_since === null ? null : Number(ep.failing_since),
        openUntil: ep.circuit_open_until === null ? null : Number(ep.circuit_open_until),
      };
      let { failures, failingSince, openUntil } = before;
      let disabled: string | null = null;
      let disabledAt: number | null = null;
      for (const r of byEndpoint.get(endpointId)!.sort((a, b) => a.at - b.at)) {
        if (r.ok) {
          if (failingSince !== null) out.push({ kind: 'recovered', endpointId, failingSince });
          failures = 0;
          failingSince = null;
          openUntil = null;
          continue;
        }
        failures++;
        failingSince ??= r.at;
        if (r.statusCode === 410) disabled = '410 Gone from the endpoint';
        else if (r.at - failingSince > policy.disableAfterMs) {
          disabled = `failing since ${new Date(failingSince).toISOString()} without a success for more than ${duration(policy.disableAfterMs)} (HERALD_DISABLE_AFTER)`;
        }
        if (disabled) disabledAt ??= r.at;
        if (failures >= policy.threshold) {
          const cooldown = Math.round(Math.min(MAX_COOLDOWN_MS, Math.max(policy.cooldownMs, (r.at - failingSince) / 4)));
          openUntil = r.at + cooldown;
          if (failures === policy.threshold) out.push({ kind: 'failing', endpointId, failures });
        }
      }
      const disabling = disabled !== null && ep.enabled === 1;
      if (disabling) out.push({ kind: 'disabled', endpointId, reason: disabled! });
      // A healthy endpoint that stays healthy (the common case) is not written at all.
      if (!disabling && failures === before.failures && failingSince === before.failingSince && openUntil === before.openUntil) continue;
      await q.run(
        `UPDATE endpoints SET consecutive_failures = $2, failing_since = $3, circuit_open_until = $4,
                enabled = CASE WHEN $5 = 1 THEN 0 ELSE enabled END,
                disabled_reason = CASE WHEN $5 = 1 THEN $6 ELSE disabled_reason END,
                disabled_at = CASE WHEN $5 = 1 THEN $7 ELSE disabled_at END
          WHERE id = $1`,
        [endpointId, failures, failingSince, openUntil, disabling ? 1 : 0, disabled, disabledAt],
      );
    }
  }
  return out;
}

/** 5d, 12h, 30m or 45s: how HERALD_DISABLE_AFTER is written. */
function duration(ms: number): string {
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3600_000],
    ['m', 60_000],
  ] as const) {
    if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${Math.round(ms / 1000)}s`;
}

/**
 * Half-opens an endpoint's open circuit now (the user says it works again): the next claim sends
 * one probe at once instead of waiting for the end of the cooldown. Answers whether it was open.
 */
export async function probeNow(q: Queryable, endpointId: string, now: number): Promise<boolean> {
  const opened = await q.run('UPDATE endpoints SET circuit_open_until = NULL WHERE id = $1 AND circuit_open_until > $2', [endpointId, now]);
  return opened > 0;
}
