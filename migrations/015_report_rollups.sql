-- Report rollups (issue 11): what the delivery report reads instead of scanning events, deliveries
-- and attempts. Rows are per tenant, UTC hour (the hour the event was accepted in, as its first
-- millisecond), event type, endpoint and latency class; three kinds share the table so that one
-- upsert statement writes a batch's counts and latencies together:
--   endpoint_id = '', latency_ms = -1   `accepted`: events accepted (one per event, not per endpoint)
--   endpoint_id = ep, latency_ms = -1   `delivered` and `failed`: deliveries to ep now S and now F
--   endpoint_id = '', latency_ms >= 0   `delivered`: the latency histogram. Deliveries now S whose
--                                       latency (accepted to the end of their latest 2xx attempt)
--                                       is latency_ms: exact below 100 ms, otherwise cut to two
--                                       significant digits (1234 ms counts as 1200)
-- Kept exactly by the transactions that change the facts (src/reports/sql/rollups.ts); the
-- defaults are the accepted row's, which the event writer inserts with four columns.
CREATE TABLE delivery_rollups (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  hour_start   :BIGINT NOT NULL,
  event_type   TEXT NOT NULL,
  endpoint_id  TEXT NOT NULL DEFAULT '',
  latency_ms   :BIGINT NOT NULL DEFAULT -1,
  accepted     INTEGER NOT NULL DEFAULT 0,
  delivered    INTEGER NOT NULL DEFAULT 0,
  failed       INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, hour_start, event_type, endpoint_id, latency_ms)
);

-- The history of a database upgraded to this step, so its reports do not go blank. The same three
-- statements (with a tenant filter) are rebuildTenantRollups in src/reports/sql/rollups.ts; a
-- test checks that they rebuild what live maintenance wrote.
INSERT INTO delivery_rollups (tenant_id, hour_start, event_type, accepted)
SELECT tenant_id, hour_start, type, COUNT(*)
  FROM (SELECT tenant_id, (created_at / 3600000) * 3600000 AS hour_start, type FROM events) e
 GROUP BY tenant_id, hour_start, type;

INSERT INTO delivery_rollups (tenant_id, hour_start, event_type, endpoint_id, delivered, failed)
SELECT tenant_id, hour_start, type, endpoint_id, SUM(CASE WHEN status = 'S' THEN 1 ELSE 0 END), SUM(CASE WHEN status = 'F' THEN 1 ELSE 0 END)
  FROM (SELECT e.tenant_id, (e.created_at / 3600000) * 3600000 AS hour_start, e.type, d.endpoint_id, d.status
          FROM deliveries d JOIN events e ON e.id = d.event_id
         WHERE d.status IN ('S', 'F')) f
 GROUP BY tenant_id, hour_start, type, endpoint_id;

-- A delivered delivery whose attempts retention already deleted counts without a latency.
INSERT INTO delivery_rollups (tenant_id, hour_start, event_type, latency_ms, delivered)
SELECT tenant_id, hour_start, type, latency_ms, COUNT(*)
  FROM (SELECT tenant_id, hour_start, type,
               CASE WHEN ms < 100 THEN ms
                    ELSE CAST(substr(CAST(ms AS TEXT), 1, 2) || substr('0000000000000000000', 1, length(CAST(ms AS TEXT)) - 2) AS :BIGINT) END AS latency_ms
          FROM (SELECT tenant_id, hour_start, type, CASE WHEN done_at > created_at THEN done_at - created_at ELSE 0 END AS ms
                  FROM (SELECT e.tenant_id, (e.created_at / 3600000) * 3600000 AS hour_start, e.type, e.created_at,
                               (SELECT MAX(a.started_at + a.duration_ms) FROM attempts a
                                 WHERE a.delivery_id = d.id AND a.status_code >= 200 AND a.status_code < 300) AS done_at
                          FROM deliveries d JOIN events e ON e.id = d.event_id
                         WHERE d.status = 'S') s
                 WHERE done_at IS NOT NULL) l) b
 GROUP BY tenant_id, hour_start, type, latency_ms;
