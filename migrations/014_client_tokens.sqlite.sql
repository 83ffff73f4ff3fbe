-- The SQLite part of 014_client_tokens.sql (run after it). A session now belongs to a user or to a
-- client token (never both, never neither). SQLite cannot drop a NOT NULL constraint in place, so
-- the table is rebuilt with the same rows.
CREATE TABLE sessions_new (
  id              TEXT PRIMARY KEY,
  user_id         TEXT REFERENCES users(id) ON DELETE CASCADE,
  client_token_id TEXT REFERENCES client_tokens(id) ON DELETE CASCADE,
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  tenant_id       TEXT REFERENCES tenants(id) ON DELETE CASCADE,
  key_hash        TEXT NOT NULL UNIQUE,
  key_prefix      TEXT NOT NULL,
  address         TEXT,
  created_at      INTEGER NOT NULL,
  expires_at      INTEGER NOT NULL,
  ended_at        INTEGER,
  ended_reason    TEXT,
  CHECK ((user_id IS NULL) <> (client_token_id IS NULL)),
  CHECK (client_token_id IS NULL OR tenant_id IS NOT NULL)
);
INSERT INTO sessions_new (id, user_id, environment_id, tenant_id, key_hash, key_prefix, address, created_at, expires_at, ended_at, ended_reason)
  SELECT id, user_id, environment_id, tenant_id, key_hash, key_prefix, address, created_at, expires_at, ended_at, ended_reason FROM sessions;
DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;
