-- Herald schema v1. Times are integer milliseconds since the epoch (:BIGINT) so the same SQL runs on
-- both dialects; JSON is kept as text so payloads go out byte for byte as they came in.

CREATE TABLE environments (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,           -- 'sandbox' | 'production'
  created_at  :BIGINT NOT NULL
);

CREATE TABLE tenants (
  id              TEXT PRIMARY KEY,
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  uid             TEXT NOT NULL,               -- the operator's own id for this tenant
  name            TEXT NOT NULL,
  token           TEXT NOT NULL,               -- sent in HERALD_TOKEN_HEADER with every webhook
  metadata        TEXT NOT NULL DEFAULT '{}',
  created_at      :BIGINT NOT NULL,
  updated_at      :BIGINT NOT NULL,
  UNIQUE (environment_id, uid)
);

CREATE TABLE api_keys (
  id              TEXT PRIMARY KEY,
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  tenant_id       TEXT REFERENCES tenants(id) ON DELETE CASCADE,  -- NULL: operator-wide
  kind            TEXT NOT NULL,               -- 'secret' | 'public' | 'client'
  key_hash        TEXT NOT NULL UNIQUE,        -- sha256 of the key; the key itself is shown once
  key_prefix      TEXT NOT NULL,               -- first characters, to recognise a key in a list
  name            TEXT,
  created_at      :BIGINT NOT NULL,
  expires_at      :BIGINT,
  revoked_at      :BIGINT
);

CREATE TABLE event_types (
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  name            TEXT NOT NULL,
  description     TEXT NOT NULL DEFAULT '',
  schema          TEXT,                        -- JSON Schema of the payload, or NULL: anything
  example         TEXT,                        -- example payload (JSON), used by test events
  created_at      :BIGINT NOT NULL,
  updated_at      :BIGINT NOT NULL,
  PRIMARY KEY (environment_id, name)
);

CREATE TABLE endpoints (
  id                   TEXT PRIMARY KEY,
  tenant_id            TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  url                  TEXT NOT NULL,
  description          TEXT NOT NULL DEFAULT '',
  event_types          TEXT NOT NULL DEFAULT '[]',   -- JSON array; empty means every type
  format               TEXT NOT NULL DEFAULT 'standard',
  headers              TEXT NOT NULL DEFAULT '{}',
  enabled              INTEGER NOT NULL DEFAULT 1,
  secret               TEXT NOT NULL,
  previous_secret      TEXT,                        -- still signs until previous_secret_until
  previous_secret_until :BIGINT,
  created_at           :BIGINT NOT NULL,
  updated_at           :BIGINT NOT NULL,
  deleted_at           :BIGINT
);
CREATE INDEX endpoints_tenant ON endpoints (tenant_id) WHERE deleted_at IS NULL;

CREATE TABLE events (
  id               TEXT PRIMARY KEY,
  tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  type             TEXT NOT NULL,
  payload          TEXT NOT NULL,
  status           TEXT NOT NULL,              -- N | I | S | F, see deliveries/eventStatus.ts
  idempotency_key  TEXT,
  occurred_at      :BIGINT NOT NULL,
  created_at       :BIGINT NOT NULL,
  UNIQUE (tenant_id, idempotency_key)
);
CREATE INDEX events_tenant_id ON events (tenant_id, id);

CREATE TABLE deliveries (
  id                TEXT PRIMARY KEY,
  event_id          TEXT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
  endpoint_id       TEXT NOT NULL REFERENCES endpoints(id) ON DELETE CASCADE,
  tenant_id         TEXT NOT NULL,
  status            TEXT NOT NULL,             -- I | S | F
  attempts          INTEGER NOT NULL DEFAULT 0,
  schedule_start    INTEGER NOT NULL DEFAULT 0, -- attempts made before the last manual resend
  due_at            :BIGINT,                    -- next try; while leased, the lease's expiry
  lease_token       TEXT,                      -- set by the worker that holds the delivery
  last_status_code  INTEGER,
  last_error        TEXT,
  created_at        :BIGINT NOT NULL,
  updated_at        :BIGINT NOT NULL
);
-- The claim query reads only this index: deliveries still in progress, by due time.
CREATE INDEX deliveries_due ON deliveries (due_at) WHERE status = 'I';
CREATE INDEX deliveries_event ON deliveries (event_id);

CREATE TABLE attempts (
  id             TEXT PRIMARY KEY,
  delivery_id    TEXT NOT NULL REFERENCES deliveries(id) ON DELETE CASCADE,
  attempt        INTEGER NOT NULL,             -- 1 for the first try
  started_at     :BIGINT NOT NULL,
  duration_ms    INTEGER NOT NULL,
  status_code    INTEGER,
  error          TEXT,
  response_body  TEXT
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, attempt);
