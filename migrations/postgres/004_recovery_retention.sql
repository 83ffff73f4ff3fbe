-- Bulk recovery of failed deliveries, run in the background with visible progress; and payload
-- retention (a purged event keeps its metadata and deliveries, not its payload).
CREATE TABLE recoveries (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  endpoint_id  text NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  since        bigint NOT NULL,
  until        bigint NOT NULL,
  status       text NOT NULL,          -- running | done
  total        integer NOT NULL,
  done         integer NOT NULL DEFAULT 0,
  cursor       text NOT NULL DEFAULT '',   -- last delivery id resent
  lease_until  bigint NOT NULL DEFAULT 0,  -- the node working on it, until then
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL
);
CREATE INDEX recoveries_running ON recoveries (lease_until) WHERE status = 'running';
CREATE INDEX deliveries_endpoint_failed ON deliveries (endpoint_id, id) WHERE status = 'F';
ALTER TABLE events ADD COLUMN payload_purged_at bigint;
CREATE INDEX events_created ON events (created_at);
CREATE INDEX attempts_started ON attempts (started_at);
