-- Finding a tenant by the start of its uid or name, ignoring case (GraphQL tenants(search:), the
-- portal's tenant picker): src/tenants/tenants.ts listTenants compares lower(uid) and lower(name)
-- with a range, which these indexes answer without reading every tenant of the environment.
-- In the "C" collation (byte order, as SQLite compares) whatever the database's locale: in a
-- language's collation the strings that start with a text are not always one range.
CREATE INDEX tenants_uid_search ON tenants (environment_id, (lower(uid)) COLLATE "C");
CREATE INDEX tenants_name_search ON tenants (environment_id, (lower(name)) COLLATE "C");
