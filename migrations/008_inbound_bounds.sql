-- A payment may arrive before the signup of its subscription. The transaction keeps the
-- provider's subscription id, so recording that subscription later links the payments that named
-- it. The partial index holds only the payments still waiting for their subscription.
ALTER TABLE transactions ADD COLUMN subscription_provider_id TEXT;
CREATE INDEX transactions_awaiting_subscription ON transactions (tenant_id, provider, subscription_provider_id)
  WHERE subscription_id IS NULL AND subscription_provider_id IS NOT NULL;

-- Refused requests keep only a prefix of their body: body_size is the size of the body as it came
-- (NULL on rows stored before this column existed). Refused rows are deleted after their own,
-- short retention; this index finds the oldest of them without reading accepted messages.
ALTER TABLE inbound_messages ADD COLUMN body_size INTEGER;
CREATE INDEX inbound_rejected ON inbound_messages (received_at) WHERE status = 'rejected';
