-- The delivery log of one endpoint (GraphQL events(endpoint: …), the portal's Logs filtered by
-- endpoint): that endpoint's deliveries in event order, newest first, whatever their status. The
-- partial indexes of 002 and 004 hold only deliveries in progress or failed.
CREATE INDEX deliveries_endpoint_event ON deliveries (endpoint_id, event_id);
-- Subscriptions by state (report { subscriptionsByState }): counted from the index alone, without
-- reading the subscriptions' rows.
CREATE INDEX subscriptions_tenant_state ON subscriptions (tenant_id, state);
