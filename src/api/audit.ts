import type { FastifyRequest } from 'fastify';
import { type AuditAction, writeAudit } from '../accounts/audit.js';
import type { Queryable } from '../db/db.js';

/**
 * Writes what a REST call did to the audit log, as the key that made it and from its address:
 * secrets revealed or rotated, keys made or revoked. Like GraphQL's, never the secret itself.
 */
export function auditRequest(
  q: Queryable,
  req: FastifyRequest,
  action: AuditAction,
  target: string,
  details: Record<string, unknown> = {},
): Promise<void> {
  return writeAudit(q, { environmentId: req.actor.environmentId, actor: req.actor.id, action, target, address: req.ip, details });
}
