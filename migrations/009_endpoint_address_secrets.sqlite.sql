-- The SQLite part of 009_endpoint_address_secrets.sql (run after it): carry the single previous secret
-- over into previous_secrets, then drop the columns it replaces.
UPDATE endpoints SET previous_secrets = json_array(json_object('secret', previous_secret, 'until', previous_secret_until))
 WHERE previous_secret IS NOT NULL AND previous_secret_until IS NOT NULL;
ALTER TABLE endpoints DROP COLUMN previous_secret;
ALTER TABLE endpoints DROP COLUMN previous_secret_until;
