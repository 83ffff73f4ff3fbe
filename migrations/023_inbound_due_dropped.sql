-- The claim of received messages walks inbound_received (migration 022) by id on both dialects;
-- nothing reads inbound_due any more. Every stored request, every claim (which moves due_at to
-- the end of a lease) and every settled message still paid for keeping it.
DROP INDEX inbound_due;
