-- Received messages waiting to be processed, in arrival order: the claim (inbound/sql/claimInbound.ts)
-- walks them by id and stops at its limit. With only inbound_due it read every due message and
-- sorted them by id, so under a burst each claim grew slower with the backlog it was draining.
CREATE INDEX inbound_received ON inbound_messages (id) WHERE status = 'received';
