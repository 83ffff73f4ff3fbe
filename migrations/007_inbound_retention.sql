-- Retention of received webhooks: after HERALD_PAYLOAD_RETENTION_DAYS the headers and body of a
-- message that is done with (processed, rejected, failed) are emptied; the row stays, so its
-- status stays readable and a late retry of the same provider id is still known as a duplicate.
ALTER TABLE inbound_messages ADD COLUMN body_purged_at :BIGINT;
CREATE INDEX inbound_unpurged ON inbound_messages (received_at) WHERE body_purged_at IS NULL;
