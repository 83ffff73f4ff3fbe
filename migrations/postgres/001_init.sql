-- Herald schema v1 (Postgres). Times are integer milliseconds since the epoch (bigint) so the same
-- SQL runs on SQLite; JSON is kept as text so payloads go out byte for byte as they came in.

CREATE TABLE environments (
  id          text PRIMARY KEY,
  name        text NOT NULL UNIQUE,           -- 'sandbox' | 'production'
  created_at  bigint NOT NULL
);

CREATE TABLE tenants (
  id              text PRIMARY KEY,
  environment_id  text NOT NULL REFERENCES environments(id),
  uid             text NOT NULL,               -- the operator's own id for this tenant
  name            text NOT NULL,
  token           text NOT NULL,               -- sent in HERALD_TOKEN_HEADER with every webhook
  metadata        text NOT NULL DEFAULT '{}',
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL,
  UNIQUE (environment_id, uid)
);

CREATE TABLE api_keys (
  id              text PRIMARY KEY,
  environment_id  text NOT NULL REFERENCES environments(id),
  tenant_id       text REFERENCES tenants(id) ON DELETE CASCADE,  -- NULL: operator-wide
  kind            text NOT NULL,               -- 'secret' | 'public' | 'client'
  key_hash        text NOT NULL UNIQUE,        -- sha256 of the key; the key itself is shown once
  key_prefix      text NOT NULL,               -- first characters, to recognise a key in a list
  name            text,
  created_at      bigint NOT NULL,
  expires_at      bigint,
  revoked_at      bigint
);

CREATE TABLE event_types (
  environment_id  text NOT NULL REFERENCES environments(id),
  name            text NOT NULL,
  description     text NOT NULL DEFAULT '',
  schema          text,                        -- JSON Schema of the payload, or NULL: anything
  example         text,                        -- example payload (JSON), used by test events
  created_at      bigint NOT NULL,
  updated_at      bigint NOT NULL,
  PRIMARY KEY (environment_id, name)
);

CREATE TABLE endpoints (
  id                   text PRIMARY KEY,
  tenant_id            text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  url                  text NOT NULL,
  description          text NOT NULL DEFAULT '',
  event_types          text NOT NULL DEFAULT '[]',   -- JSON array; empty means every type
  format               text NOT NULL DEFAULT 'standard',
  headers              text NOT NULL DEFAULT '{}',
  enabled              integer NOT NULL DEFAULT 1,
  secret               text NOT NULL,
  previous_secret      text,                        -- still signs until previous_secret_until
  previous_secret_until bigint,
  created_at           bigint NOT NULL,
  updated_at           bigint NOT NULL,
  deleted_at           bigint
);
CREATE INDEX endpoints_tenant ON endpoints (tenant_id) WHERE deleted_at IS NULL;

CREATE TABLE events (
  id               text PRIMARY KEY,
  tenant_id        text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  type             text NOT NULL,
  payload          text NOT NULL,
  status           text NOT NULL,              -- N | I | S | F, see deliveries/eventStatus.ts
  idempotency_key  text,
  occurred_at      bigint NOT NULL,
  created_at       bigint NOT NULL,
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX events_tenant_id ON events (tenant_id, id);

CREATE TABLE deliveries (
  id                text PRIMARY KEY,
  event_id          text NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  endpoint_id       text NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  tenant_id         text NOT NULL,
  status            text NOT NULL,             -- I | S | F
  attempts          integer NOT NULL DEFAULT 0,
  schedule_start    integer NOT NULL DEFAULT 0, -- attempts made before the last manual resend
  due_at            bigint,                    -- next try; while leased, the lease's expiry
  lease_token       text,                      -- set by the worker that holds the delivery
  last_status_code  integer,
  last_error        text,
  created_at        bigint NOT NULL,
  updated_at        bigint NOT NULL
);
-- The claim query reads only this index: deliveries still in progress, by due time.
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'I';
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE attempts (
  id             text PRIMARY KEY,
  delivery_id    text NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  attempt        integer NOT NULL,             -- 1 for the first try
  started_at     bigint NOT NULL,
  duration_ms    integer NOT NULL,
  status_code    integer,
  error          text,
  response_body  text
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt);
