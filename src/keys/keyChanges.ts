import { writeAudit } from '../accounts/audit.js';
import type { Db } from '../db/db.js';
import { issueKey, type KeyInfo, type KeyRequest, revokeKey, setAllowedOrigins } from './keys.js';

// Keys made, revoked or changed by an operator over REST or GraphQL, each with its audit-log row in
// the same transaction, so that both doors record the same thing. The row names the key (its id),
// never the key itself.

/** Who makes the change: a key id (REST) or a user id (GraphQL), from where, and what else to note. */
export interface KeyChangeBy {
  environmentId: string;
  actor: string;
  address: string | null;
  /** Added to each row's details (GraphQL: the session). */
  details?: Record<string, unknown>;
}

/** Makes a key (issueKey's checks) and records `key.created`. Answers the key, shown this once. */
export function createKeyAudited(db: Db, req: KeyRequest, by: KeyChangeBy): Promise<{ id: string; key: string; info: KeyInfo }> {
  return db.tx(async (q) => {
    const made = await issueKey(q, req);
    const { info } = made;
    await writeAudit(q, {
      environmentId: by.environmentId,
      actor: by.actor,
      action: 'key.created',
      target: info.id,
      address: by.address,
      details: {
        kind: info.kind,
        tenant: info.tenant,
        expiresAt: info.expiresAt,
        ...(info.kind === 'public' ? { allowedOrigins: info.allowedOrigins } : {}),
        ...by.details,
      },
    });
    return made;
  });
}

/**
 * Revokes a key of the actor's environment and records `key.revoked`. Answers the key, or
 * undefined when there is no such key here. The caller drops it from its node's key cache.
 */
export function revokeKeyAudited(db: Db, id: string, by: KeyChangeBy): Promise<KeyInfo | undefined> {
  return db.tx(async (q) => {
    const revoked = await revokeKey(q, id, by.environmentId);
    if (revoked)
      await writeAudit(q, {
        environmentId: by.environmentId,
        actor: by.actor,
        action: 'key.revoked',
        target: id,
        address: by.address,
        details: { ...by.details },
      });
    return revoked;
  });
}

/**
 * Replaces a public key's allowed origins (setAllowedOrigins' checks) and records
 * `key.origins_changed` with the origins before and after. Undefined: no such key here.
 */
export function changeAllowedOriginsAudited(db: Db, id: string, origins: string[], by: KeyChangeBy): Promise<KeyInfo | undefined> {
  return db.tx(async (q) => {
    const changed = await setAllowedOrigins(q, id, by.environmentId, origins);
    if (!changed) return undefined;
    await writeAudit(q, {
      environmentId: by.environmentId,
      actor: by.actor,
      action: 'key.origins_changed',
      target: id,
      address: by.address,
      details: { before: changed.before.allowedOrigins, after: changed.after.allowedOrigins, ...by.details },
    });
    return changed.after;
  });
}
