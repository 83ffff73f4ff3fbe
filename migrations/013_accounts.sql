-- People who log in (issue 10): users with a password and a second factor, their recovery codes,
-- their sessions, the failed-login throttle and the audit log.

-- An operator user reaches every tenant of its environments: environment_id NULL means both
-- environments, a value means that one only. A tenant user reaches one tenant, so one environment
-- (the tenant's); deleting the tenant deletes its users. email_key is the address lower-cased:
-- the unique, case-insensitive login name (the lower-casing is done by Herald, not by the
-- database, because SQLite's lower() knows ASCII only).
CREATE TABLE users (
  id               TEXT PRIMARY KEY,
  email            TEXT NOT NULL,                -- as given
  email_key        TEXT NOT NULL UNIQUE,         -- lower-cased: what logIn's username is matched on
  role             TEXT NOT NULL,                -- 'operator' | 'tenant'
  environment_id   TEXT REFERENCES environments(id),
  tenant_id        TEXT REFERENCES tenants(id) ON DELETE CASCADE,
  password_hash    TEXT NOT NULL,                -- argon2id, PHC string (salt and parameters inside)
  totp_secret      TEXT,                         -- base32, sealed with HERALD_SECRET_KEY
  totp_last_step   :BIGINT,                      -- last accepted RFC 6238 time step: a code works once
  status           TEXT NOT NULL DEFAULT 'active', -- 'active' | 'disabled'
  created_at       :BIGINT NOT NULL,
  updated_at       :BIGINT NOT NULL,
  last_login_at    :BIGINT,
  CHECK (role IN ('operator', 'tenant')),
  CHECK (status IN ('active', 'disabled')),
  CHECK ((role = 'tenant') = (tenant_id IS NOT NULL))
);
CREATE INDEX users_tenant ON users (tenant_id);

-- Ten single-use codes per user, shown once. Only a sha256 is kept: a code carries 80 random bits,
-- so a hash cannot be reversed by guessing, and nothing ever needs the code back.
CREATE TABLE recovery_codes (
  id          TEXT PRIMARY KEY,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash   TEXT NOT NULL,
  created_at  :BIGINT NOT NULL,
  used_at     :BIGINT,
  UNIQUE (user_id, code_hash)
);

-- A session key is shown once; only its sha256 is kept (like API keys). A session is bound to
-- one environment and, for a tenant user, one tenant. Expiry is absolute: refreshing ends this
-- session and starts another.
CREATE TABLE sessions (
  id              TEXT PRIMARY KEY,
  user_id         TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  environment_id  TEXT NOT NULL REFERENCES environments(id),
  tenant_id       TEXT REFERENCES tenants(id) ON DELETE CASCADE,
  key_hash        TEXT NOT NULL UNIQUE,
  key_prefix      TEXT NOT NULL,
  address         TEXT,
  created_at      :BIGINT NOT NULL,
  expires_at      :BIGINT NOT NULL,
  ended_at        :BIGINT,
  ended_reason    TEXT                          -- 'logout' | 'refreshed' | 'user_disabled' | 'mfa_reset'
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- Failed logins, counted per username ('user:<email>', also for names no user has, so the
-- throttle tells nothing about who exists) and per client address ('addr:<ip>').
CREATE TABLE login_throttle (
  subject          TEXT PRIMARY KEY,
  failures         INTEGER NOT NULL,
  window_start     :BIGINT NOT NULL,
  locked_until     :BIGINT
);

-- Who did what: logins (success and failure, with the address), user changes. Never a secret.
-- environment_id is NULL for what concerns no one environment (an operator user of both).
CREATE TABLE audit_log (
  id              TEXT PRIMARY KEY,
  environment_id  TEXT,
  actor           TEXT,                          -- usr_… or key_…, 'cli', or NULL (an unknown username)
  action          TEXT NOT NULL,                 -- 'login.succeeded', 'user.created', …
  target          TEXT,
  address         TEXT,
  at              :BIGINT NOT NULL,
  details         TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_environment ON audit_log (environment_id, id);
