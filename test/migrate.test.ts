import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { listMigrations, migrate } from '../src/db/migrate.js';
import { DIALECTS, freshDatabase } from './helpers/db.js';

// Nodes are processes; on SQLite they share one file and its write lock already serialises them, so
// the race is Postgres's.
for (const dialect of DIALECTS.filter((d) => d === 'postgres')) {
  describe(`migrations (${dialect})`, () => {
    it('apply once when several nodes start together on an empty database', async () => {
      const database = await freshDatabase(dialect);
      const nodes = Array.from({ length: 6 }, () => database.open());
      try {
        const applied = await Promise.all(nodes.map((db) => migrate(db)));
        const all = listMigrations(dialect).map((m) => m.name);
        assert.deepEqual(applied.flat().sort(), all.sort(), 'each migration applied by exactly one node');
        const rows = await nodes[0]!.all<{ id: number }>('SELECT id FROM herald_migrations ORDER BY id');
        assert.equal(rows.length, all.length);
      } finally {
        await Promise.all(nodes.map((db) => db.close()));
        await database.drop();
      }
    });
  });
}
