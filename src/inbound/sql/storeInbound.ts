import type { Queryable } from '../../db/db.js';
import { chunks, valuesRows } from '../../db/sql.js';
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

/** A group's rows in one statement: 200 rows of 12 parameters stay far inside both dialects' limits. */
const ROWS_PER_STATEMENT = 200;

/**
 * Stores requests as they came, before anything is done with them: the requests of one group
 * commit (api/routes/inbound.ts) in one multi-row statement. A received message is due for
 * processing at once. When the provider's id was seen before on this source (in an earlier
 * request or earlier in this group), nothing new is stored: the first message counts one more
 * duplicate and is answered instead. Answers one result per message, in order.
 */
export async function storeInbound(q: Queryable, messages: NewInbound[]): Promise<{ id: string; duplicate: boolean }[]> {
  const rows = messages.map((m) => ({
    m,
    id: newId('in', m.receivedAt),
    dedupeKey: m.status === 'received' ? m.dedupeKey : null,
  }));
  const inserted = new Set<string>();
  for (const chunk of chunks(q.dialect, rows, ROWS_PER_STATEMENT)) {
    const params: unknown[] = [];
    for (const { m, id, dedupeKey } of chunk) {
      params.push(
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
        m.receivedAt, // due at once
        m.receivedAt,
      );
    }
    const insert = `INSERT INTO inbound_messages (id, source_id, tenant_id, status, reason, dedupe_key, headers, body, body_size, event_type, due_at, received_at)
       VALUES ${valuesRows(chunk.length, 12)}
       ON CONFLICT (source_id, dedupe_key) DO NOTHING`;
    if (chunk.some((r) => r.dedupeKey !== null)) {
      for (const r of await q.all<{ id: string }>(`${insert} RETURNING id`, params)) inserted.add(r.id);
    } else {
      // Nothing to deduplicate: every row goes in, and no answer is needed.
      await q.run(insert, params);
      for (const r of chunk) inserted.add(r.id);
    }
  }
  const out: { id: string; duplicate: boolean }[] = [];
  for (const r of rows) {
    if (inserted.has(r.id)) {
      out.push({ id: r.id, duplicate: false });
      continue;
    }
    const first = await q.one<{ id: string }>(
      'UPDATE inbound_messages SET duplicates = duplicates + 1 WHERE source_id = $1 AND dedupe_key = $2 RETURNING id',
      [r.m.sourceId, storableText(r.dedupeKey)],
    );
    out.push({ id: first!.id, duplicate: true });
  }
  return out;
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
