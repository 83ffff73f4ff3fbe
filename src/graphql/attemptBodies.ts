import type { Queryable } from '../db/db.js';

// Attempt.responseBody: what the endpoint answered (the prefix Herald keeps). Pages of events leave
// bodies out (deliveries/readDeliveries.ts); a query that asks for them reads them here, for all the
// attempts of the answer at once (see batch.ts).

const placeholders = (n: number) => Array.from({ length: n }, (_, i) => `$${i + 1}`).join(', ');

/** The response bodies of these attempts (reached through their tenant's events), by attempt id. */
export async function readAttemptBodies(q: Queryable, attemptIds: string[]): Promise<Map<string, string | null>> {
  const bodies = new Map<string, string | null>();
  // Chunks keep a statement's parameters well under both databases' limits.
  for (let i = 0; i < attemptIds.length; i += 500) {
    const chunk = attemptIds.slice(i, i + 500);
    const rows = await q.all<{ id: string; response_body: string | null }>(
      `SELECT id, response_body FROM attempts WHERE id IN (${placeholders(chunk.length)})`,
      chunk,
    );
    for (const r of rows) bodies.set(r.id, r.response_body);
  }
  return bodies;
}
