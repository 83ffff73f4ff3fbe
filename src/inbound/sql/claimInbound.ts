import type { Db } from '../../db/db.js';
import { placeholders } from '../../db/sql.js';
import type { ProviderName } from '../../sources/providers/index.js';

export interface ClaimedInbound {
  id: string;
  sourceId: string;
  tenantId: string;
  environmentId: string;
  provider: ProviderName;
  headers: Record<string, string>;
  body: Buffer;
  attempts: number;
  receivedAt: number;
}

// Received messages are a queue shaped like deliveries: claiming moves due_at to the end of a
// lease, so a node that dies mid-way lets the message become due again and nothing is lost.
// Oldest first (ids sort by arrival), because billing events build on each other (a signup before its payments).
// Postgres: SKIP LOCKED lets several nodes claim side by side; SQLite has one writer anyway.
const CLAIM = {
  postgres: `
    WITH due AS (
      SELECT id FROM inbound_messages WHERE status = 'received' AND due_at <= $1
       ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
    UPDATE inbound_messages m SET due_at = $3 FROM due WHERE m.id = due.id RETURNING m.id`,
  sqlite: `
    UPDATE inbound_messages SET due_at = $3
     WHERE id IN (SELECT id FROM inbound_messages WHERE status = 'received' AND due_at <= $1 ORDER BY id LIMIT $2)
    RETURNING id`,
};

interface ClaimedRow {
  id: string;
  source_id: string;
  tenant_id: string;
  environment_id: string;
  provider: ProviderName;
  /** JSON object. */
  headers: string;
  body: Uint8Array;
  attempts: number;
  received_at: number;
}

export async function claimInbound(db: Db, opts: { limit: number; leaseMs: number; now?: number }): Promise<ClaimedInbound[]> {
  const now = opts.now ?? Date.now();
  const ids = await db.all<{ id: string }>(CLAIM[db.dialect], [now, opts.limit, now + opts.leaseMs]);
  if (ids.length === 0) return [];
  const rows = await db.all<ClaimedRow>(
    `SELECT m.id, m.source_id, m.tenant_id, t.environment_id, s.provider, m.headers, m.body, m.attempts, m.received_at
       FROM inbound_messages m JOIN sources s ON s.id = m.source_id JOIN tenants t ON t.id = m.tenant_id
      WHERE m.id IN (${placeholders(ids.length)}) ORDER BY m.id`,
    ids.map((r) => r.id),
  );
  return rows.map((r) => ({
    id: r.id,
    sourceId: r.source_id,
    tenantId: r.tenant_id,
    environmentId: r.environment_id,
    provider: r.provider,
    headers: JSON.parse(r.headers) as Record<string, string>,
    body: Buffer.from(r.body),
    attempts: r.attempts,
    receivedAt: Number(r.received_at),
  }));
}
