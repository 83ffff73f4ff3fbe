import type { Queryable } from '../db/db.js';

// Endpoint health, updated in the same transaction that records attempts. Per endpoint, in the
// order its attempts finished:
// - a success closes the circuit and clears the failure count ("recovered" if it was failing);
// - a failure counts; at `threshold` consecutive failures the circuit opens: the claim query then
//   skips the endpoint, and when the circuit half-opens the worker sends one probe at a time. The
//   circuit stays open for a quarter of the time the endpoint has been failing, at least
//   `cooldownMs`, at most an hour. (Not doubled per failure: the deliveries already in flight when
//   the circuit opens all fail too, and would push the wait to the cap at once.)
// - a 410 Gone, or failing without a success for longer than `disableAfterMs`, disables it.
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
  for (const r of results) byEndpoint.set(r.endpointId, [...(byEndpoint.get(r.endpointId) ?? []), r]);
  const out: HealthTransition[] = [];
  for (const [endpointId, list] of byEndpoint) {
    const ep = await q.one<{ consecutive_failures: number; failing_since: number | null; circuit_open_until: number | null; enabled: number }>(
      'SELECT consecutive_failures, failing_since, circuit_open_until, enabled FROM endpoints WHERE id = $1',
      [endpointId],
    );
    if (!ep) continue;
    let failures = ep.consecutive_failures;
    let failingSince = ep.failing_since;
    let openUntil = ep.circuit_open_until;
    let disabled: string | null = null;
    for (const r of list.sort((a, b) => a.at - b.at)) {
      if (r.ok) {
        if (failingSince !== null) out.push({ kind: 'recovered', endpointId, failingSince });
        failures = 0;
        failingSince = null;
        openUntil = null;
        continue;
      }
      failures++;
      failingSince ??= r.at;
      if (r.statusCode === 410) disabled = 'the endpoint answered 410 Gone';
      else if (r.at - failingSince > policy.disableAfterMs) disabled = `failing since ${new Date(failingSince).toISOString()} without a success`;
      if (failures >= policy.threshold) {
        const cooldown = Math.round(Math.min(MAX_COOLDOWN_MS, Math.max(policy.cooldownMs, (r.at - failingSince) / 4)));
        openUntil = r.at + cooldown;
        if (failures === policy.threshold) out.push({ kind: 'failing', endpointId, failures });
      }
    }
    if (disabled && ep.enabled === 1) out.push({ kind: 'disabled', endpointId, reason: disabled });
    await q.run(
      `UPDATE endpoints SET consecutive_failures = $2, failing_since = $3, circuit_open_until = $4,
              enabled = CASE WHEN $5 = 1 THEN 0 ELSE enabled END,
              disabled_reason = CASE WHEN $5 = 1 THEN $6 ELSE disabled_reason END
        WHERE id = $1`,
      [endpointId, failures, failingSince, openUntil, disabled ? 1 : 0, disabled],
    );
  }
  return out;
}
