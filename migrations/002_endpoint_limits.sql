-- Per-endpoint isolation: a cap on deliveries in flight, a rate limit, and in-order delivery.
ALTER TABLE endpoints ADD COLUMN max_concurrency INTEGER;   -- NULL: HERALD_ENDPOINT_CONCURRENCY
ALTER TABLE endpoints ADD COLUMN rate_limit INTEGER;        -- deliveries per second; NULL: none
ALTER TABLE endpoints ADD COLUMN ordered INTEGER NOT NULL DEFAULT 0;
-- "Is an earlier delivery of this endpoint still in progress?" (ordered endpoints).
CREATE INDEX deliveries_endpoint_pending ON deliveries (endpoint_id, id) WHERE status = 'I';
