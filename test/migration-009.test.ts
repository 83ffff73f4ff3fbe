import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listMigrations, migrate } from '../src/db/migrate.js';
import { DIALECTS, freshDatabase } from './helpers/db.js';

// Migration 009 converts what earlier versions stored: which endpoints keep sandbox access to
// private addresses, which endpoint is the operator's configured one, and the previous secret.

for (const dialect of DIALECTS) {
  describe(`migration 009 on existing data (${dialect})`, () => {
    it('keeps private access for sandbox endpoints an operator key made, marks the configured operator endpoint, and carries the previous secret over', async () => {
      const database = await freshDatabase(dialect);
      const db = database.open();
      try {
        // The schema as it was before 009.
        await db.exec(
          'CREATE TABLE IF NOT EXISTS herald_migrations (id integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
        );
        for (const m of listMigrations(dialect).filter((m) => m.id < 9)) {
          await db.exec(m.sql);
          await db.run('INSERT INTO herald_migrations (id, name, applied_at) VALUES ($1, $2, $3)', [m.id, m.name, 0]);
        }
        const now = Date.now();
        await db.run("INSERT INTO environments (id, name, created_at) VALUES ('sandbox', 'sandbox', 0), ('production', 'production', 0)");
        const tenant = (id: string, env: string, system = 0) =>
          db.run(
            "INSERT INTO tenants (id, environment_id, uid, name, token, system, created_at, updated_at) VALUES ($1, $2, $1, $1, 't', $3, 0, 0)",
            [id, env, system],
          );
        await tenant('ten_operator_made', 'sandbox');
        await tenant('ten_has_key', 'sandbox');
        await tenant('ten_prod', 'production');
        await tenant('ten_ops', 'sandbox', 1);
        await db.run(
          "INSERT INTO api_keys (id, environment_id, tenant_id, kind, key_hash, key_prefix, created_at) VALUES ('key_t', 'sandbox', 'ten_has_key', 'secret', 'h', 'sk_test_', 0)",
        );
        const endpoint = (id: string, tenantId: string, description = '', previous: [string, number] | null = null) =>
          db.run(
            `INSERT INTO endpoints (id, tenant_id, url, description, secret, previous_secret, previous_secret_until, created_at, updated_at)
             VALUES ($1, $2, 'http://127.0.0.1:9/x', $3, 'current', $4, $5, 0, 0)`,
            [id, tenantId, description, previous?.[0] ?? null, previous?.[1] ?? null],
          );
        await endpoint('ep_1', 'ten_operator_made', '', ['before', now + 3600_000]);
        await endpoint('ep_2', 'ten_has_key');
        await endpoint('ep_3', 'ten_prod');
        await endpoint('ep_4', 'ten_ops', 'HERALD_OPERATOR_WEBHOOK_URL');
        await endpoint('ep_5', 'ten_ops', 'made with the API');

        await migrate(db);

        const rows = await db.all<{ id: string; private_allowed: number; operator_config: number; previous_secrets: string }>(
          'SELECT id, private_allowed, operator_config, previous_secrets FROM endpoints ORDER BY id',
        );
        assert.deepEqual(
          rows.map((r) => [r.id, r.private_allowed, r.operator_config]),
          [
            ['ep_1', 1, 0],
            ['ep_2', 0, 0],
            ['ep_3', 0, 0],
            ['ep_4', 1, 1],
            ['ep_5', 1, 0],
          ],
        );
        assert.deepEqual(JSON.parse(rows[0].previous_secrets), [{ secret: 'before', until: now + 3600_000 }]);
        assert.deepEqual(JSON.parse(rows[1].previous_secrets), []);
      } finally {
        await db.close();
        await database.drop();
      }
    });
  });
}
