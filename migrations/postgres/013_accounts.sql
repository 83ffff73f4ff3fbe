-- People who log in (issue 10): users with a password and a second factor, their recovery codes,
-- their sessions, the failed-login throttle and the audit log. Kept column for column equal to
-- migrations/sqlite/013_accounts.sql.

-- An operator user reaches every tenant of its environments: environment_id NULL means both
-- environments, a value means that one only. A tenant user reaches one tenant, so one environment
-- (the tenant's); deleting the tenant deletes its users. email_key is the address lower-cased:
-- the unique, case-insensitive login name (the lower-casing is done by Herald, not by the
-- database, because SQLite's lower() knows ASCII only).
CREATE TABLE users (
  id               text PRIMARY KEY,
  email            text NOT NULL,                -- as given
  email_key        text NOT NULL UNIQUE,         -- lower-cased: what logIn's username is matched on
  role             text NOT NULL,                -- 'operator' | 'tenant'
  environment_id   text REFERENCES environments(id),
  tenant_id        text REFERENCES tenants(id) ON DELETE CASCADE,
  password_hash    text NOT NULL,                -- argon2id, PHC string (salt and parameters inside)
  totp_secret      text,                         -- base32, sealed with HERALD_SECRET_KEY
  totp_last_step   bigint,                      -- last accepted RFC 6238 time step: a code works once
  status           text NOT NULL DEFAULT 'active', -- 'active' | 'disabled'
  created_at       bigint NOT NULL,
  updated_at       bigint NOT NULL,
  last_login_at    bigint,
  CHECK (role IN ('operator', 'tenant')),
  CHECK (status IN ('active', 'disabled')),
  CHECK ((role = 'tenant') = (tenant_id IS NOT NULL))
);
CREATE INDEX users_tenant ON users (tenant_id);

-- Ten single-use codes per user, shown once. Only a sha256 is kept: a code carries 80 random bits,
-- so a hash cannot be reversed by guessing, and nothing ever needs the code back.
CREATE TABLE recovery_codes (
  id          text PRIMARY KEY,
  user_id     text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash   text NOT NULL,
  created_at  bigint NOT NULL,
  used_at     bigint,
  UNIQUE (user_id, code_hash)
);

-- A session key is shown once; only its sha256 is kept (like API keys). A session is bound to
-- one environment and, for a tenant user, one tenant. Expiry is absolute: refreshing ends this
-- session and starts another.
CREATE TABLE sessions (
  id              text PRIMARY KEY,
  user_id         text NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  environment_id  text NOT NULL REFERENCES environments(id),
  tenant_id       text REFERENCES tenants(id) ON DELETE CASCADE,
  key_hash        text NOT NULL UNIQUE,
  key_prefix      text NOT NULL,
  address         text,
  created_at      bigint NOT NULL,
  expires_at      bigint NOT NULL,
  ended_at        bigint,
  ended_reason    text                          -- 'logout' | 'refreshed' | 'user_disabled' | 'mfa_reset'
);
CREATE INDEX sessions_user ON sessions (user_id) WHERE ended_at IS NULL;

-- Failed logins, counted per username ('user:<email>', also for names no user has, so the
-- throttle tells nothing about who exists) and per client address ('addr:<ip>').
CREATE TABLE login_throttle (
  subject          text PRIMARY KEY,
  failures         integer NOT NULL,
  window_start     bigint NOT NULL,
  locked_until     bigint
);

-- Who did what: logins (success and failure, with the address), user changes. Never a secret.
-- environment_id is NULL for what concerns no one environment (an operator user of both).
CREATE TABLE audit_log (
  id              text PRIMARY KEY,
  environment_id  text,
  actor           text,                          -- usr_… or key_…, 'cli', or NULL (an unknown username)
  action          text NOT NULL,                 -- 'login.succeeded', 'user.created', …
  target          text,
  address         text,
  at              bigint NOT NULL,
  details         text NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_environment ON audit_log (environment_id, id);
