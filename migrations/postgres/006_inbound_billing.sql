-- Receiving webhooks (sources and what arrives at them) and the billing records built from them:
-- customers, plans, subscriptions, transactions and refunds, all under one tenant.

-- A source is an inbound URL, /in/<id>, for one provider, with the secret that provider signs with
-- (sealed like endpoint secrets).
CREATE TABLE sources (
  id          text PRIMARY KEY,
  tenant_id   text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  provider    text NOT NULL,          -- chargify | stripe | github | shopify | standard | token | basic
  name        text NOT NULL,
  secret      text NOT NULL,
  options     text NOT NULL DEFAULT '{}',
  enabled     integer NOT NULL DEFAULT 1,
  created_at  bigint NOT NULL,
  updated_at  bigint NOT NULL,
  deleted_at  bigint
);
CREATE INDEX sources_tenant ON sources (tenant_id, id) WHERE deleted_at IS NULL;

-- Every request that reaches a source, stored as it came (headers and exact body bytes) before
-- anything else happens. `received` rows are the processing queue: due_at is when to process
-- next, or the end of the lease while a node processes it (as with deliveries).
CREATE TABLE inbound_messages (
  id            text PRIMARY KEY,
  source_id     text NOT NULL REFERENCES sources(id) ON DELETE CASCADE,
  tenant_id     text NOT NULL,
  status        text NOT NULL,        -- received | processed | unmatched | rejected | failed
  reason        text,                 -- why rejected, unmatched or failed
  dedupe_key    text,                 -- the provider's own id for this webhook
  duplicates    integer NOT NULL DEFAULT 0,
  headers       text NOT NULL,
  body          bytea NOT NULL,
  event_type    text,
  event_id      text,                 -- the tenant event it was forwarded as
  waiting_for   text,                 -- unmatched: "customer:<key>", "subscription:<provider>:<id>"…
  attempts      integer NOT NULL DEFAULT 0,
  due_at        bigint,
  received_at   bigint NOT NULL,
  processed_at  bigint,
  UNIQUE (source_id, dedupe_key)
);
CREATE INDEX inbound_due ON inbound_messages (due_at) WHERE status = 'received';
CREATE INDEX inbound_source ON inbound_messages (source_id, id);
CREATE INDEX inbound_waiting ON inbound_messages (tenant_id, waiting_for, id) WHERE status = 'unmatched';

-- A forwarded event remembers the message it came from: endpoints with format "original" get
-- that message's body and headers unchanged.
ALTER TABLE events ADD COLUMN inbound_id text;

-- A tenant's customers (seeds/000: persons and organizations), found by their customer key.
CREATE TABLE customers (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key          text NOT NULL,
  kind         text NOT NULL,         -- person | organization
  name         text NOT NULL DEFAULT '',
  email        text,
  profile      text NOT NULL DEFAULT '{}',
  address      text,                  -- {"placeId":…} or the full address
  custom_data  text NOT NULL DEFAULT '{}',
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL,
  UNIQUE (tenant_id, key)
);

-- Plans: a plan whose key equals a provider's product id is the plan of subscriptions on it.
CREATE TABLE plans (
  id           text PRIMARY KEY,
  tenant_id    text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  key          text NOT NULL,
  name         text NOT NULL,
  amount       bigint,                -- minor units (cents)
  currency     text,
  period       text,
  created_at   bigint NOT NULL,
  updated_at   bigint NOT NULL,
  UNIQUE (tenant_id, key)
);

-- Billing records, each unique by the provider's own id so that a message processed twice (after
-- a crash) records nothing twice. Amounts are integers in minor units.
CREATE TABLE subscriptions (
  id            text PRIMARY KEY,
  tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  customer_id   text NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  provider      text NOT NULL,
  provider_id   text NOT NULL,
  product_id    text,
  product_name  text,
  state         text NOT NULL,
  amount        bigint,
  currency      text,
  components    text NOT NULL DEFAULT '{}',   -- allocated quantity by component id
  created_at    bigint NOT NULL,
  updated_at    bigint NOT NULL,
  UNIQUE (tenant_id, provider, provider_id)
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id, id);

CREATE TABLE transactions (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  customer_id      text NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  subscription_id  text REFERENCES subscriptions(id) ON DELETE SET NULL,
  provider         text NOT NULL,
  provider_id      text NOT NULL,
  amount           bigint NOT NULL,
  currency         text NOT NULL,
  memo             text,
  occurred_at      bigint NOT NULL,
  created_at       bigint NOT NULL,
  UNIQUE (tenant_id, provider, provider_id)
);
CREATE INDEX transactions_customer ON transactions (customer_id, id);

CREATE TABLE refunds (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  customer_id      text NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  transaction_id   text REFERENCES transactions(id) ON DELETE SET NULL,
  provider         text NOT NULL,
  provider_id      text NOT NULL,
  payment_id       text,              -- the provider's id of the refunded payment
  amount           bigint NOT NULL,
  currency         text NOT NULL,
  memo             text,
  occurred_at      bigint NOT NULL,
  created_at       bigint NOT NULL,
  UNIQUE (tenant_id, provider, provider_id)
);
CREATE INDEX refunds_customer ON refunds (customer_id, id);

-- Which customer key a provider's own customer id stands for (Stripe sends cus_… on charges and
-- the customer key only in the customer's metadata).
CREATE TABLE provider_customers (
  tenant_id     text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  provider      text NOT NULL,
  external_id   text NOT NULL,
  customer_key  text NOT NULL,
  PRIMARY KEY (tenant_id, provider, external_id)
);
