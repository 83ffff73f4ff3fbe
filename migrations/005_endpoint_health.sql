-- Endpoint health, shared by every node: consecutive failures open a circuit (deliveries wait
-- while one probe tests the endpoint); failing for too long, or answering 410, disables it.
ALTER TABLE endpoints ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN failing_since :BIGINT;
ALTER TABLE endpoints ADD COLUMN circuit_open_until :BIGINT;
ALTER TABLE endpoints ADD COLUMN disabled_reason TEXT;
-- The operator's own tenant, which receives operational events (endpoint.disabled, …) at the URL
-- of HERALD_OPERATOR_WEBHOOK_URL: its endpoint is configuration, trusted like it.
ALTER TABLE tenants ADD COLUMN system INTEGER NOT NULL DEFAULT 0;
