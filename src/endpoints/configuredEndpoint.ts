import type { Queryable } from '../db/db.js';
import { newId } from '../ids.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { newSecret } from './endpoints.js';

/**
 * Keeps the endpoint that the configuration defines for a tenant (the row marked operator_config:
 * HERALD_OPERATOR_WEBHOOK_URL for the operator's system tenant) in step with it: created when
 * missing, its URL and address rights updated when the configuration changed, disabled when the
 * configuration has no URL any more (the URL stays, so setting it again restores it). An unchanged
 * configuration leaves it as it is; endpoints added with the API are never touched.
 */
export async function syncConfiguredEndpoint(
  q: Queryable,
  box: SecretBox,
  tenantId: string,
  config: { url: string | undefined; privateAllowed: boolean; description: string },
  now = Date.now(),
): Promise<void> {
  const ep = await q.one<{ id: string; url: string; enabled: number; private_allowed: number }>(
    'SELECT id, url, enabled, private_allowed FROM endpoints WHERE tenant_id = $1 AND operator_config = 1 AND deleted_at IS NULL ORDER BY id LIMIT 1',
    [tenantId],
  );
  if (!config.url) {
    if (ep?.enabled) await q.run('UPDATE endpoints SET enabled = 0, updated_at = $2 WHERE id = $1', [ep.id, now]);
    return;
  }
  const privateAllowed = config.privateAllowed ? 1 : 0;
  if (!ep) {
    // Nodes starting together take turns on the caller's transaction; the unique index keeps the
    // one-per-tenant rule whatever the order.
    await q.run(
      `INSERT INTO endpoints (id, tenant_id, url, description, secret, private_allowed, operator_config, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $7) ON CONFLICT DO NOTHING`,
      [newId('ep', now), tenantId, config.url, config.description, box.seal(newSecret()), privateAllowed, now],
    );
  } else if (ep.url !== config.url || ep.private_allowed !== privateAllowed || !ep.enabled) {
    // The configuration changed (or the endpoint was disabled): it applies afresh, with a clean
    // health record, like enabling an endpoint through the API.
    await q.run(
      `UPDATE endpoints SET url = $2, private_allowed = $3, enabled = 1, updated_at = $4,
              consecutive_failures = 0, failing_since = NULL, circuit_open_until = NULL, disabled_reason = NULL
        WHERE id = $1`,
      [ep.id, config.url, privateAllowed, now],
    );
  }
}
