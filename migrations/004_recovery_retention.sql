-- Bulk recovery of failed deliveries, run in the background with visible progress; and payload
-- retention (a purged event keeps its metadata and deliveries, not its payload).
CREATE TABLE recoveries (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  endpoint_id  TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  since        :BIGINT NOT NULL,
  until        :BIGINT NOT NULL,
  status       TEXT NOT NULL,          -- running | done
  total        INTEGER NOT NULL,
  done         INTEGER NOT NULL DEFAULT 0,
  cursor       TEXT NOT NULL DEFAULT '',   -- last delivery id resent
  lease_until  :BIGINT NOT NULL DEFAULT 0,  -- the node working on it, until then
  created_at   :BIGINT NOT NULL,
  updated_at   :BIGINT NOT NULL
);
CREATE INDEX recoveries_running ON recoveries (lease_until) WHERE status = 'running';
CREATE INDEX deliveries_endpoint_failed ON deliveries (endpoint_id, id) WHERE status = 'F';
ALTER TABLE events ADD COLUMN payload_purged_at :BIGINT;
CREATE INDEX events_created ON events (created_at);
CREATE INDEX attempts_started ON attempts (started_at);
