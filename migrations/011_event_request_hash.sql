-- A hash of what created an event through the API (type, occurredAt as sent, the payload's exact
-- text): the same idempotency key with a different request is refused (409) instead of silently
-- answering the first event. NULL for events written before, and for forwarded, operational and
-- test events, which never conflict.
ALTER TABLE events ADD COLUMN request_hash TEXT;
