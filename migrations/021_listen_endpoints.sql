-- Endpoints of `herald listen` (issue 12): kind 'listen' is a temporary endpoint whose deliveries
-- no worker sends over HTTP; the CLI that made it pulls them over one long-lived connection
-- (src/delivery/listenerFeed.ts) and reports each answer back. `expires_at` is pushed forward
-- while a connection is open; maintenance deletes those no connection renewed in time. Every
-- other endpoint is kind 'http' with no expiry.
ALTER TABLE endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'http';
ALTER TABLE endpoints ADD COLUMN expires_at :BIGINT;
CREATE INDEX endpoints_expiring ON endpoints (expires_at) WHERE expires_at IS NOT NULL AND deleted_at IS NULL;
