-- The Postgres part of 014_client_tokens.sql (run after it). A session now belongs to a user or to
-- a client token (never both, never neither): the constraint is dropped and the checks added in place.
ALTER TABLE sessions ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE sessions ADD COLUMN client_token_id text REFERENCES client_tokens(id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_owner CHECK ((user_id IS NULL) <> (client_token_id IS NULL));
ALTER TABLE sessions ADD CONSTRAINT sessions_client_tenant CHECK (client_token_id IS NULL OR tenant_id IS NOT NULL);
