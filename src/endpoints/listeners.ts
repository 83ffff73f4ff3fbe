import type { Db, Queryable } from '../db/db.js';
import { badRequest, notFound } from '../errors.js';
import { refreshEventStatus } from '../events/eventStatus.js';
import { type BodyFormat, createEndpoint, deleteEndpoint, type Endpoint, type EndpointContext, getEndpoint } from './endpoints.js';

// Listen endpoints (`herald listen`, issue 12): a temporary endpoint whose deliveries no worker
// sends. The CLI that made it holds one connection open, over which the API node claims the
// endpoint's due deliveries and hands over each prepared request (delivery/listenerFeed.ts); the
// CLI posts it to a local URL and reports the answer back, recorded like any attempt.
//
// All of it lives in the database, so any node may serve the connection and any node may take the
// answers: the endpoint row (kind 'listen', expires_at), the leases of its deliveries. While a
// connection is open it pushes expires_at forward; maintenance deletes listen endpoints nobody
// renewed (expireListeners), which fails what was still waiting for them, as a delete does.

export interface ListenerInput {
  /** Where the CLI posts each delivery; the endpoint's URL (so a `productfy` body names it). */
  forwardTo: string;
  eventTypes?: string[];
  format?: BodyFormat;
  description?: string;
}

/** Refuses what is not an absolute http(s) URL, saying what to send instead. */
export function checkForwardUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw badRequest(`forwardTo "${raw}" is not a URL; send an absolute http(s) URL such as http://localhost:3000/webhooks`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw badRequest(`forwardTo must be an http or https URL; got "${u.protocol}" (e.g. http://localhost:3000/webhooks)`);
  }
  return u.toString();
}

/**
 * A new listen endpoint, counted against the tenant's endpoint limit like any other. Its URL is
 * only where the CLI forwards: Herald never connects to it, so a sandbox or production listener may
 * name localhost.
 */
export async function createListener(
  db: Db,
  ctx: EndpointContext,
  tenantId: string,
  input: ListenerInput,
  expiresAt: number,
): Promise<Endpoint & { secret: string }> {
  const url = checkForwardUrl(input.forwardTo);
  return createEndpoint(
    db,
    ctx,
    tenantId,
    {
      url,
      eventTypes: input.eventTypes,
      format: input.format,
      description: input.description ?? 'herald listen',
    },
    { expiresAt },
  );
}

/** A listen endpoint of this tenant (404 for any other kind: those are not listened to). */
export async function getListener(q: Queryable, tenantId: string, id: string): Promise<Endpoint> {
  const endpoint = await getEndpoint(q, tenantId, id);
  if (endpoint.kind !== 'listen') throw notFound('listener', id);
  return endpoint;
}

/**
 * Pushes the expiry forward while a connection is open; answers the new expiry, or null when the
 * endpoint is gone (deleted, or expired and removed): the connection then ends.
 */
export async function renewListener(q: Queryable, id: string, expiresAt: number): Promise<number | null> {
  const row = await q.one<{ expires_at: number | string }>(
    `UPDATE endpoints SET expires_at = $2 WHERE id = $1 AND kind = 'listen' AND deleted_at IS NULL RETURNING expires_at`,
    [id, expiresAt],
  );
  return row ? Number(row.expires_at) : null;
}

/** Deletes a listen endpoint now (Ctrl-C in `herald listen`); what still waited for it fails with `reason`. */
export async function deleteListener(db: Db, tenantId: string, id: string, reason = 'listener stopped'): Promise<void> {
  await getListener(db, tenantId, id);
  await db.tx(async (q) => {
    const events = await deleteEndpoint(q, tenantId, id, reason);
    await refreshEventStatus(q, events);
  });
}

/**
 * Deletes up to `batch` listen endpoints whose expiry passed (maintenance, every round: the query
 * reads the partial index endpoints_expiring). Answers how many.
 */
export async function expireListeners(db: Db, now: number, batch = 100): Promise<number> {
  const expired = await db.all<{ id: string; tenant_id: string }>(
    `SELECT id, tenant_id FROM endpoints WHERE expires_at IS NOT NULL AND expires_at < $1 AND deleted_at IS NULL ORDER BY expires_at LIMIT $2`,
    [now, batch],
  );
  let n = 0;
  for (const e of expired) {
    await db.tx(async (q) => {
      // Renewed meanwhile by a connection that came back: keep it.
      const still = await q.one(
        `SELECT 1 AS x FROM endpoints WHERE id = $1 AND expires_at < $2 AND deleted_at IS NULL${q.dialect === 'postgres' ? ' FOR UPDATE' : ''}`,
        [e.id, now],
      );
      if (!still) return;
      const events = await deleteEndpoint(q, e.tenant_id, e.id, 'listener expired: no `herald listen` connection renewed it');
      await refreshEventStatus(q, events);
      n++;
    });
  }
  return n;
}
