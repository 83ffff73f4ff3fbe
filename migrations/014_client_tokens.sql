-- Client tokens (issue 10): minted with a secret key for one tenant, exchanged once, with a public
-- key, for a session bound to that tenant. A session then belongs to a user or to a client token
-- (never both, never neither); SQLite cannot drop a NOT NULL constraint in place, so that change
-- is written per dialect in 014_client_tokens.sqlite.sql (a rebuild of the table) and
-- 014_client_tokens.postgres.sql (ALTER TABLE), which run after this file.

-- Only a sha256 of the token is kept (like API keys). used_at is set by the one exchange that wins
-- a conditional UPDATE, so a token makes at most one session. created_by is the secret key that
-- minted it (an id, for the audit trail; not a foreign key, so revoking or deleting a key later
-- keeps the history).
CREATE TABLE client_tokens (
  id              TEXT PRIMARY KEY,
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  tenant_id       TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  token_hash      TEXT NOT NULL UNIQUE,
  token_prefix    TEXT NOT NULL,
  capabilities    TEXT NOT NULL DEFAULT '[]',
  created_by      TEXT,
  created_at      :BIGINT NOT NULL,
  expires_at      :BIGINT NOT NULL,
  used_at         :BIGINT
);
CREATE INDEX client_tokens_expires ON client_tokens (expires_at);
