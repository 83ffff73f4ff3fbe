import { announceInStatement, announceWork } from '../../db/announceWork.js';
import type { Db, Queryable } from '../../db/db.js';
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

interface Planned {
  m: NewInbound;
  id: string;
  /** Only a received message is deduplicated; a refused one is kept whatever its id. */
  dedupeKey: string | null;
}

const plan = (messages: NewInbound[]): Planned[] =>
  messages.map((m) => ({ m, id: newId('in', m.receivedAt), dedupeKey: m.status === 'received' ? m.dedupeKey : null }));

/** The multi-row INSERT of these rows, and its parameters. */
function insertOf(chunk: Planned[]): { sql: string; params: unknown[] } {
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
  const sql = `INSERT INTO inbound_messages (id, source_id, tenant_id, status, reason, dedupe_key, headers, body, body_size, event_type, due_at, received_at)
       VALUES ${valuesRows(chunk.length, 12)}
       ON CONFLICT (source_id, dedupe_key) DO NOTHING`;
  return { sql, params };
}

/** A provider id seen before: the first message counts one more duplicate, and answers for this one. */
async function countDuplicate(q: Queryable, r: Planned): Promise<{ id: string; duplicate: true }> {
  const first = await q.one<{ id: string }>(
    'UPDATE inbound_messages SET duplicates = duplicates + 1 WHERE source_id = $1 AND dedupe_key = $2 RETURNING id',
    [r.m.sourceId, storableText(r.dedupeKey)],
  );
  return { id: first!.id, duplicate: true };
}

/**
 * Stores requests as they came, before anything is done with them: the requests of one group
 * commit (api/routes/inbound.ts) in one multi-row statement, inside the caller's transaction. A
 * received message is due for processing at once, and the commit tells the worker nodes
 * (Postgres). When the provider's id was seen before on this source (in an earlier request or
 * earlier in this group), nothing new is stored: the first message counts one more duplicate and
 * is answered instead. Answers one result per message, in order.
 */
export async function storeInbound(q: Queryable, messages: NewInbound[]): Promise<{ id: string; duplicate: boolean }[]> {
  const rows = plan(messages);
  const inserted = new Set<string>();
  for (const chunk of chunks(q.dialect, rows, ROWS_PER_STATEMENT)) {
    const { sql, params } = insertOf(chunk);
    if (chunk.some((r) => r.dedupeKey !== null)) {
      for (const r of await q.all<{ id: string }>(`${sql} RETURNING id`, params)) inserted.add(r.id);
    } else {
      // Nothing to deduplicate: every row goes in, and no answer is needed.
      await q.run(sql, params);
      for (const r of chunk) inserted.add(r.id);
    }
  }
  const out: { id: string; duplicate: boolean }[] = [];
  for (const r of rows) out.push(inserted.has(r.id) ? { id: r.id, duplicate: false } : await countDuplicate(q, r));
  if (rows.some((r) => inserted.has(r.id) && r.m.status === 'received')) await announceWork(q, 'inbound');
  return out;
}

/**
 * Postgres: the group stored by one statement that commits by itself, the NOTIFY for the worker
 * nodes included, instead of BEGIN, INSERT, NOTIFY and COMMIT: each of those round trips waited
 * for a turn of the busy event loop before the next could go. Duplicates are counted afterwards,
 * each in a statement of its own; one that fails fails only its own request (`failures`), the
 * group being stored already. A group too large for one statement is stored in a transaction.
 */
export async function storeInboundAtOnce(
  db: Db,
  messages: NewInbound[],
): Promise<{ results: { id: string; duplicate: boolean }[]; failures?: unknown[] }> {
  if (messages.length > ROWS_PER_STATEMENT) return { results: await db.tx((q) => storeInbound(q, messages)) };
  const rows = plan(messages);
  const { sql, params } = insertOf(rows);
  // The NOTIFY runs once, at the first received message inserted (an uncorrelated subquery), and
  // is sent at the commit, as announceWork's is.
  const inserted = await db.all<{ id: string }>(
    `WITH ins AS (${sql} RETURNING id, status)
     SELECT id, CASE WHEN status = 'received' THEN ${announceInStatement('inbound')} END AS announced FROM ins`,
    params,
  );
  const ids = new Set(inserted.map((r) => r.id));
  const results: { id: string; duplicate: boolean }[] = [];
  const failures: unknown[] = [];
  for (const [i, r] of rows.entries()) {
    if (ids.has(r.id)) {
      results.push({ id: r.id, duplicate: false });
      continue;
    }
    try {
      results.push(await countDuplicate(db, r));
    } catch (err) {
      results.push({ id: '', duplicate: true });
      failures[i] = err;
    }
  }
  return failures.length ? { results, failures } : { results };
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
