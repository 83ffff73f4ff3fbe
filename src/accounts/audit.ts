import type { Queryable } from '../db/db.js';
import { newId } from '../ids.js';
import { type Page, pageOf } from '../pagination.js';

// The audit log: who did what, from where. Rows are written in the transaction of the change they
// record, so a change and its row commit together. No secret is ever passed in: callers give ids,
// emails, roles and reasons, never a password, code, key or TOTP secret.

export type AuditAction =
  | 'login.succeeded'
  | 'login.failed'
  | 'session.refreshed'
  | 'session.ended'
  | 'user.created'
  | 'user.disabled'
  | 'user.enabled'
  | 'user.mfa_reset'
  | 'user.enrolment_started'
  | 'user.enrolled'
  | 'endpoint.secret_revealed'
  | 'endpoint.secret_rotated'
  | 'client_token.minted'
  | 'client_token.exchanged'
  | 'source.secret_revealed'
  | 'tenant.token_rotated'
  | 'key.created'
  | 'key.revoked'
  | 'key.origins_changed';

export interface AuditEntry {
  id: string;
  /** The environment it concerns; null for what concerns none in particular (an operator user of both). */
  environment: string | null;
  /** Who did it: a user id (usr_…), a key id (key_…), 'cli', or null (a login as an unknown username). */
  actor: string | null;
  action: AuditAction;
  /** What it was done to: a user id, or the username a failed login gave. */
  target: string | null;
  /** The client address, for what came over the network. */
  address: string | null;
  at: string;
  details: Record<string, unknown>;
}

export interface AuditInput {
  environmentId?: string | null;
  actor: string | null;
  action: AuditAction;
  target?: string | null;
  address?: string | null;
  details?: Record<string, unknown>;
}

export async function writeAudit(q: Queryable, entry: AuditInput, now = Date.now()): Promise<void> {
  await q.run(
    'INSERT INTO audit_log (id, environment_id, actor, action, target, address, at, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
    [
      newId('aud', now),
      entry.environmentId ?? null,
      entry.actor,
      entry.action,
      entry.target ?? null,
      entry.address ?? null,
      now,
      JSON.stringify(entry.details ?? {}),
    ],
  );
}

interface AuditRow {
  id: string;
  environment_id: string | null;
  actor: string | null;
  action: AuditAction;
  target: string | null;
  address: string | null;
  at: number;
  details: string;
}

/**
 * Newest first, `limit` at a time; `after` is the `nextCursor` of the page before. Ids sort by
 * time, so the cursor is the last id shown. `environmentId` keeps the rows of that environment
 * and those of none (an operator of that environment may see both).
 */
export async function listAudit(
  q: Queryable,
  opts: { environmentId?: string; actor?: string; action?: AuditAction; limit?: number; after?: string } = {},
): Promise<Page<AuditEntry>> {
  const limit = Math.min(Math.max(opts.limit ?? 50, 1), 500);
  const rows = await q.all<AuditRow>(
    `SELECT id, environment_id, actor, action, target, address, at, details FROM audit_log
      WHERE (CAST($1 AS text) IS NULL OR environment_id = $1 OR environment_id IS NULL)
        AND (CAST($2 AS text) IS NULL OR actor = $2)
        AND (CAST($3 AS text) IS NULL OR action = $3)
        AND (CAST($4 AS text) IS NULL OR id < $4)
      ORDER BY id DESC LIMIT $5`,
    [opts.environmentId ?? null, opts.actor ?? null, opts.action ?? null, opts.after ?? null, limit + 1],
  );
  return pageOf(
    rows.map((r) => ({
      id: r.id,
      environment: r.environment_id,
      actor: r.actor,
      action: r.action,
      target: r.target,
      address: r.address,
      at: new Date(Number(r.at)).toISOString(),
      details: JSON.parse(r.details) as Record<string, unknown>,
    })),
    limit,
  );
}
