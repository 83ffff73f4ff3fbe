-- API keys (v2). A public key names the origins allowed to embed the portal (a JSON array of
-- "scheme://host[:port]"). `last_used_at` is written at most once a minute per key per node, so a
-- busy key does not cost a write per request. Keys are listed per environment, newest first.
ALTER TABLE api_keys ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '[]';
ALTER TABLE api_keys ADD COLUMN last_used_at :BIGINT;
CREATE INDEX api_keys_environment ON api_keys (environment_id, id);
