import type { Queryable } from '../../db/db.js';
import { notFound } from '../../errors.js';
import { type Page, pageOf } from '../../pagination.js';
import type { InboundStatus } from './storeInbound.js';

export interface InboundSummary {
  id: string;
  sourceId: string;
  status: InboundStatus;
  /** Why it was rejected, is unmatched, or failed. */
  reason: string | null;
  /** Unmatched: what it waits for ("customer:<key>", "subscription:<provider>:<id>", …). */
  waitingFor: string | null;
  dedupeKey: string | null;
  /** Requests with the same provider id answered as duplicates of this one. */
  duplicates: number;
  eventType: string | null;
  eventId: string | null;
  attempts: number;
  receivedAt: string;
  processedAt: string | null;
}

export interface InboundMessage extends InboundSummary {
  headers: Record<string, string>;
  /** The body as it came: UTF-8 text, or base64 when it is not valid UTF-8 (see bodyEncoding). */
  body: string;
  bodyEncoding: 'utf8' | 'base64';
  /** When retention emptied the headers and body (HERALD_PAYLOAD_RETENTION_DAYS). */
  bodyPurgedAt: string | null;
  /** The size of the body as it came, in bytes (null when unknown: stored before Herald recorded it). */
  bodySize: number | null;
  /** True when `body` is only the first bytes of it: a refused request keeps no more (HERALD_INBOUND_REJECTED_BODY_BYTES). */
  bodyTruncated: boolean;
}

const SUMMARY =
  'id, source_id, status, reason, waiting_for, dedupe_key, duplicates, event_type, event_id, attempts, received_at, processed_at';
const utf8 = new TextDecoder('utf-8', { fatal: true });

interface SummaryRow {
  id: string;
  source_id: string;
  status: InboundStatus;
  reason: string | null;
  waiting_for: string | null;
  dedupe_key: string | null;
  duplicates: number;
  event_type: string | null;
  event_id: string | null;
  attempts: number;
  received_at: number;
  processed_at: number | null;
}

interface MessageRow extends SummaryRow {
  headers: string;
  body: Uint8Array;
  body_size: number | null;
  body_purged_at: number | null;
}

const toSummary = (r: SummaryRow): InboundSummary => ({
  id: r.id,
  sourceId: r.source_id,
  status: r.status,
  reason: r.reason,
  waitingFor: r.waiting_for,
  dedupeKey: r.dedupe_key,
  duplicates: r.duplicates,
  eventType: r.event_type,
  eventId: r.event_id,
  attempts: r.attempts,
  receivedAt: new Date(Number(r.received_at)).toISOString(),
  processedAt: r.processed_at === null ? null : new Date(Number(r.processed_at)).toISOString(),
});

export async function listInbound(
  q: Queryable,
  tenantId: string,
  opts: { limit: number; cursor?: string; sourceId?: string; status?: InboundStatus },
): Promise<Page<InboundSummary>> {
  const rows = await q.all<SummaryRow>(
    `SELECT ${SUMMARY} FROM inbound_messages
      WHERE tenant_id = $1 AND (CAST($2 AS text) IS NULL OR source_id = $2) AND (CAST($3 AS text) IS NULL OR status = $3)
        AND (CAST($4 AS text) IS NULL OR id < $4)
      ORDER BY id DESC LIMIT $5`,
    [tenantId, opts.sourceId ?? null, opts.status ?? null, opts.cursor ?? null, opts.limit + 1],
  );
  return pageOf(rows.map(toSummary), opts.limit);
}

export async function getInbound(q: Queryable, tenantId: string, id: string): Promise<InboundMessage> {
  const r = await q.one<MessageRow>(
    `SELECT ${SUMMARY}, headers, body, body_size, body_purged_at FROM inbound_messages WHERE id = $1 AND tenant_id = $2`,
    [id, tenantId],
  );
  if (!r) throw notFound('inbound message', id);
  const bytes = Buffer.from(r.body);
  let body: string;
  let bodyEncoding: 'utf8' | 'base64' = 'utf8';
  try {
    body = utf8.decode(bytes);
  } catch {
    body = bytes.toString('base64');
    bodyEncoding = 'base64';
  }
  const bodySize = r.body_size === null ? null : Number(r.body_size);
  return {
    ...toSummary(r),
    headers: JSON.parse(r.headers) as Record<string, string>,
    body,
    bodyEncoding,
    bodyPurgedAt: r.body_purged_at === null ? null : new Date(Number(r.body_purged_at)).toISOString(),
    bodySize,
    bodyTruncated: r.body_purged_at === null && bodySize !== null && bytes.length < bodySize,
  };
}
