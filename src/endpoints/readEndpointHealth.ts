import type { Queryable } from '../db/db.js';

// What the portal shows of an endpoint's health (deliveries/endpointHealth.ts keeps it up to date
// as attempts are recorded): the circuit as the claim query sees it, and since when it fails.

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface EndpointHealthView {
  /**
   * closed: deliveries flow (failures below the threshold may be counting); open: the claim query
   * skips the endpoint until circuitOpenUntil; half_open: the wait is over and the next delivery is
   * a probe, sent alone.
   */
  circuit: CircuitState;
  consecutiveFailures: number;
  failingSince: string | null;
  circuitOpenUntil: string | null;
}

const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');
const iso = (ms: number | null) => (ms === null ? null : new Date(Number(ms)).toISOString());

/** The health of these endpoints (the caller has checked they are its tenant's), by endpoint id. */
export async function readEndpointHealth(
  q: Queryable,
  endpointIds: string[],
  threshold: number,
  now = Date.now(),
): Promise<Map<string, EndpointHealthView>> {
  const out = new Map<string, EndpointHealthView>();
  if (endpointIds.length === 0) return out;
  const rows = await q.all<{ id: string; consecutive_failures: number; failing_since: number | null; circuit_open_until: number | null }>(
    `SELECT id, consecutive_failures, failing_since, circuit_open_until FROM endpoints WHERE id IN (${placeholders(endpointIds.length)})`,
    endpointIds,
  );
  for (const r of rows) {
    const failures = Number(r.consecutive_failures);
    const openUntil = r.circuit_open_until === null ? null : Number(r.circuit_open_until);
    const circuit: CircuitState = openUntil !== null && openUntil > now ? 'open' : failures >= threshold ? 'half_open' : 'closed';
    out.set(r.id, {
      circuit,
      consecutiveFailures: failures,
      failingSince: iso(r.failing_since),
      circuitOpenUntil: circuit === 'open' ? iso(openUntil) : null,
    });
  }
  return out;
}
