-- Why and since when an endpoint is disabled (disabled_reason exists since 005): "410 Gone from the
-- endpoint", "failing since … for 5d", "disabled by PATCH". Cleared when it is enabled again.
ALTER TABLE endpoints ADD COLUMN disabled_at :BIGINT;
-- A recovery also makes due at once the deliveries in its window that wait for a later retry
-- (phase 'waiting', first), then resends those that failed for good (phase 'failed'). `waiting` is
-- how many waited when it started; `total` counts both kinds.
ALTER TABLE recoveries ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
ALTER TABLE recoveries ADD COLUMN phase TEXT NOT NULL DEFAULT 'failed';
