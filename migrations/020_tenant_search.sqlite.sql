-- Finding a tenant by the start of its uid or name, ignoring case (GraphQL tenants(search:), the
-- portal's tenant picker): src/tenants/tenants.ts listTenants compares lower(uid) and lower(name)
-- with a range, which these indexes answer without reading every tenant of the environment.
-- SQLite compares text byte by byte (BINARY), so a range of bytes is a prefix.
CREATE INDEX tenants_uid_search ON tenants (environment_id, lower(uid));
CREATE INDEX tenants_name_search ON tenants (environment_id, lower(name));
