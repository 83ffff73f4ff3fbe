-- First-login enrolment (issues 10 and 11): a user may be created without a second factor
-- (users.totp_secret NULL, as 013 allows) and enrols an authenticator at its first login. The right
-- password then answers a ticket and a new TOTP secret instead of a session; the ticket, sent back
-- with the first code from the authenticator, stores the secret on the user and starts the
-- session. Only the ticket's sha256 is kept; the secret waits here sealed (like users.totp_secret)
-- until the first code proves it was set up. A ticket works once and for ten minutes; one live
-- ticket per user (a new logIn replaces the last).
CREATE TABLE enrolment_tickets (
  id           TEXT PRIMARY KEY,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  ticket_hash  TEXT NOT NULL UNIQUE,
  totp_secret  TEXT NOT NULL,                 -- base32, sealed with HERALD_SECRET_KEY
  created_at   :BIGINT NOT NULL,
  expires_at   :BIGINT NOT NULL,
  used_at      :BIGINT
);
CREATE INDEX enrolment_tickets_user ON enrolment_tickets (user_id);
