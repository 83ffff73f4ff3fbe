-- Client-token capabilities (issue 10): the session exchangeClientToken makes carries its token's
-- capabilities, a JSON array of names (src/auth/capabilities.ts) that the GraphQL layer checks per
-- field. NULL: not limited by capabilities, as every person's session is (its reach is its role's),
-- and as client-token sessions made before this step were.
ALTER TABLE sessions ADD COLUMN capabilities TEXT;
