-- Client tokens (issue 10): minted with a secret key for one tenant, exchanged once, with a public
-- key, for a session bound to that tenant. Kept column for column equal to
-- migrations/sqlite/014_client_tokens.sql.

-- Only a sha256 of the token is kept (like API keys). used_at is set by the one exchange that wins
-- a conditional UPDATE, so a token makes at most one session. created_by is the secret key that
-- minted it (an id, for the audit trail; not a foreign key, so revoking or deleting a key later
-- keeps the history).
CREATE TABLE client_tokens (
  id              text PRIMARY KEY,
  environment_id  text NOT NULL REFERENCES environments(id),
  tenant_id       text NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  token_hash      text NOT NULL UNIQUE,
  token_prefix    text NOT NULL,
  capabilities    text NOT NULL DEFAULT '[]',
  created_by      text,
  created_at      bigint NOT NULL,
  expires_at      bigint NOT NULL,
  used_at         bigint
);
CREATE INDEX client_tokens_expires ON client_tokens (expires_at);

-- A session now belongs to a user or to a client token (never both, never neither).
ALTER TABLE sessions ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE sessions ADD COLUMN client_token_id text REFERENCES client_tokens(id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_owner CHECK ((user_id IS NULL) <> (client_token_id IS NULL));
ALTER TABLE sessions ADD CONSTRAINT sessions_client_tenant CHECK (client_token_id IS NULL OR tenant_id IS NOT NULL);
