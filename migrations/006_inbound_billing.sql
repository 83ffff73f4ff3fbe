-- Receiving webhooks (sources and what arrives at them) and the billing records built from them:
-- customers, plans, subscriptions, transactions and refunds, all under one tenant.

-- A source is an inbound URL, /in/<id>, for one provider, with the secret that provider signs with
-- (sealed like endpoint secrets).
CREATE TABLE sources (
  id          TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  provider    TEXT NOT NULL,          -- chargify | stripe | github | shopify | standard | token | basic
  name        TEXT NOT NULL,
  secret      TEXT NOT NULL,
  options     TEXT NOT NULL DEFAULT '{}',
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  :BIGINT NOT NULL,
  updated_at  :BIGINT NOT NULL,
  deleted_at  :BIGINT
);
CREATE INDEX sources_tenant ON sources (tenant_id, id) WHERE deleted_at IS NULL;

-- Every request that reaches a source, stored as it came (headers and exact body bytes) before
-- anything else happens. `received` rows are the processing queue: due_at is when to process
-- next, or the end of the lease while a node processes it (as with deliveries).
CREATE TABLE inbound_messages (
  id            TEXT PRIMARY KEY,
  source_id     TEXT NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  tenant_id     TEXT NOT NULL,
  status        TEXT NOT NULL,        -- received | processed | unmatched | rejected | failed
  reason        TEXT,                 -- why rejected, unmatched or failed
  dedupe_key    TEXT,                 -- the provider's own id for this webhook
  duplicates    INTEGER NOT NULL DEFAULT 0,
  headers       TEXT NOT NULL,
  body          :BLOB NOT NULL,
  event_type    TEXT,
  event_id      TEXT,                 -- the tenant event it was forwarded as
  waiting_for   TEXT,                 -- unmatched: "customer:<key>", "subscription:<provider>:<id>"…
  attempts      INTEGER NOT NULL DEFAULT 0,
  due_at        :BIGINT,
  received_at   :BIGINT NOT NULL,
  processed_at  :BIGINT,
  UNIQUE (source_id, dedupe_key)
);
CREATE INDEX inbound_due ON inbound_messages (due_at) WHERE status = 'received';
CREATE INDEX inbound_source ON inbound_messages (source_id, id);
CREATE INDEX inbound_waiting ON inbound_messages (tenant_id, waiting_for, id) WHERE status = 'unmatched';

-- A forwarded event remembers the message it came from: endpoints with format "original" get
-- that message's body and headers unchanged.
ALTER TABLE events ADD COLUMN inbound_id TEXT;

-- A tenant's customers (persons and organizations), found by their customer key.
CREATE TABLE customers (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key          TEXT NOT NULL,
  kind         TEXT NOT NULL,         -- person | organization
  name         TEXT NOT NULL DEFAULT '',
  email        TEXT,
  profile      TEXT NOT NULL DEFAULT '{}',
  address      TEXT,                  -- {"placeId":…} or the full address
  custom_data  TEXT NOT NULL DEFAULT '{}',
  created_at   :BIGINT NOT NULL,
  updated_at   :BIGINT NOT NULL,
  UNIQUE (tenant_id, key)
);

-- Plans: a plan whose key equals a provider's product id is the plan of subscriptions on it.
CREATE TABLE plans (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key          TEXT NOT NULL,
  name         TEXT NOT NULL,
  amount       :BIGINT,                -- minor units (cents)
  currency     TEXT,
  period       TEXT,
  created_at   :BIGINT NOT NULL,
  updated_at   :BIGINT NOT NULL,
  UNIQUE (tenant_id, key)
);

-- Billing records, each unique by the provider's own id so that a message processed twice (after
-- a crash) records nothing twice. Amounts are integers in minor units.
CREATE TABLE subscriptions (
  id            TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  customer_id   TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  provider      TEXT NOT NULL,
  provider_id   TEXT NOT NULL,
  product_id    TEXT,
  product_name  TEXT,
  state         TEXT NOT NULL,
  amount        :BIGINT,
  currency      TEXT,
  components    TEXT NOT NULL DEFAULT '{}',   -- allocated quantity by component id
  created_at    :BIGINT NOT NULL,
  updated_at    :BIGINT NOT NULL,
  UNIQUE (tenant_id, provider, provider_id)
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id, id);

CREATE TABLE transactions (
  id               TEXT PRIMARY KEY,
  tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  customer_id      TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  subscription_id  TEXT REFERENCES subscriptions(id) ON DELETE SET NULL,
  provider         TEXT NOT NULL,
  provider_id      TEXT NOT NULL,
  amount           :BIGINT NOT NULL,
  currency         TEXT NOT NULL,
  memo             TEXT,
  occurred_at      :BIGINT NOT NULL,
  created_at       :BIGINT NOT NULL,
  UNIQUE (tenant_id, provider, provider_id)
);
CREATE INDEX transactions_customer ON transactions (customer_id, id);

CREATE TABLE refunds (
  id               TEXT PRIMARY KEY,
  tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  customer_id      TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  transaction_id   TEXT REFERENCES transactions(id) ON DELETE SET NULL,
  provider         TEXT NOT NULL,
  provider_id      TEXT NOT NULL,
  payment_id       TEXT,              -- the provider's id of the refunded payment
  amount           :BIGINT NOT NULL,
  currency         TEXT NOT NULL,
  memo             TEXT,
  occurred_at      :BIGINT NOT NULL,
  created_at       :BIGINT NOT NULL,
  UNIQUE (tenant_id, provider, provider_id)
);
CREATE INDEX refunds_customer ON refunds (customer_id, id);

-- Which customer key a provider's own customer id stands for (Stripe sends cus_… on charges and
-- the customer key only in the customer's metadata).
CREATE TABLE provider_customers (
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  provider      TEXT NOT NULL,
  external_id   TEXT NOT NULL,
  customer_key  TEXT NOT NULL,
  PRIMARY KEY (tenant_id, provider, external_id)
);
