-- An optional call quota per tenant (Tensfer's "100 free production calls"): every API call on the
-- tenant's routes counts; past the quota they answer 429.
ALTER TABLE tenants ADD COLUMN call_quota INTEGER;            -- NULL: no quota
ALTER TABLE tenants ADD COLUMN calls_used INTEGER NOT NULL DEFAULT 0;
