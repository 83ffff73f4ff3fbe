-- Whether deliveries to an endpoint may reach private and loopback addresses (no address guard on
-- its connections). Set only when an operator key sets the URL of a sandbox endpoint, or for the
-- operator's own endpoint when its configuration says so; a tenant-scoped change of the URL clears it.
ALTER TABLE endpoints ADD COLUMN private_allowed INTEGER NOT NULL DEFAULT 0;
-- Until now every sandbox endpoint could. Keep that for endpoints of sandbox tenants that never had
-- a tenant-scoped key (so an operator key set their URL); the others go through the guard.
UPDATE endpoints SET private_allowed = 1
 WHERE tenant_id IN (
   SELECT t.id FROM tenants t
    WHERE t.environment_id = 'sandbox'
      AND NOT EXISTS (SELECT 1 FROM api_keys k WHERE k.tenant_id = t.id AND k.kind = 'secret'));

-- The endpoint that HERALD_OPERATOR_WEBHOOK_URL manages under the operator's system tenant, told
-- apart from endpoints the operator created there with the API (which configuration never touches).
ALTER TABLE endpoints ADD COLUMN operator_config INTEGER NOT NULL DEFAULT 0;
UPDATE endpoints SET operator_config = 1
 WHERE id IN (
   SELECT MIN(e.id) FROM endpoints e JOIN tenants t ON t.id = e.tenant_id
    WHERE t.system = 1 AND e.deleted_at IS NULL AND e.description = 'HERALD_OPERATOR_WEBHOOK_URL'
    GROUP BY e.tenant_id);
-- One per operator tenant, even when several nodes start at once.
CREATE UNIQUE INDEX endpoints_operator_config ON endpoints (tenant_id) WHERE operator_config = 1 AND deleted_at IS NULL;

-- Every earlier secret still inside its overlap after a rotation, newest first: a JSON array of
-- {"secret": <sealed>, "until": <ms>}. It replaces the single previous_secret, which lost the
-- original secret at once when an endpoint was rotated twice within the overlap. The dialects build
-- JSON with different functions: the backfill and the dropping of the old columns are in
-- 009_endpoint_address_secrets.sqlite.sql and .postgres.sql, which run after this file.
ALTER TABLE endpoints ADD COLUMN previous_secrets TEXT NOT NULL DEFAULT '[]';
