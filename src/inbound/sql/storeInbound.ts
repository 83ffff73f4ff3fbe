import type { Queryable } from '../../db/db.js';
import { newId } from '../../ids.js';

export type InboundStatus = 'received' | 'processed' | 'unmatched' | 'rejected' | 'failed';

export interface NewInbound {
  sourceId: string;
  tenantId: string;
  status: 'received' | 'rejected';
  reason: string | null;
  dedupeKey: string | null;
  eventType: string | null;
  headers: Record<string, string>;
  /** The body as it came; for a refused request, only its first bytes (see refusals.ts). */
  body: Buffer;
  /** The size of the body as it came (larger than `body` when only a prefix is kept), or null when unknown. */
  bodySize: number | null;
  receivedAt: number;
}

/** Postgres text cannot hold NUL, and a reason may quote the body that held one (a JSON error). */
export const storableText = (s: string | null) => (s === null ? null : s.replaceAll('\u0000', '\\0'));

/**
 * Stores one request as it came, in one statement, before anything is done with it. A received
 * message is due for processing at once. When the provider's id was seen before on this source,
 * nothing new is stored: the first message counts one more duplicate and is answered instead.
 */
export async function storeInbound(q: Queryable, m: NewInbound): Promise<{ id: string; duplicate: boolean }> {
  const id = newId('in', m.receivedAt);
  const dedupeKey = m.status === 'received' ? m.dedupeKey : null;
  const inserted = await q.one<{ id: string }>(
    `INSERT INTO inbound_messages (id, source_id, tenant_id, status, reason, dedupe_key, headers, body, body_size, event_type, due_at, received_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
     ON CONFLICT (source_id, dedupe_key) DO NOTHING RETURNING id`,
    [
      id,
      m.sourceId,
      m.tenantId,
      m.status,
      storableText(m.reason),
      storableText(dedupeKey),
      JSON.stringify(m.headers),
      m.body,
      m.bodySize,
      storableText(m.eventType),
      m.receivedAt,
    ],
  );
  if (inserted) return { id, duplicate: false };
  const first = await q.one<{ id: string }>(
    'UPDATE inbound_messages SET duplicates = duplicates + 1 WHERE source_id = $1 AND dedupe_key = $2 RETURNING id',
    [m.sourceId, dedupeKey],
  );
  return { id: first!.id, duplicate: true };
}

/** Headers that carry a source's own secret are kept as "[redacted]": nothing secret is stored in the clear. */
export function storableHeaders(raw: Record<string, string | string[] | undefined>, secretHeaders: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    out[name] = secretHeaders.includes(name) ? '[redacted]' : Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
