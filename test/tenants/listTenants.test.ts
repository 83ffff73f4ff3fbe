import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Queryable } from '../../src/db/db.js';
import { createTenant, listTenants, type Tenant } from '../../src/tenants/tenants.js';
import { DIALECTS } from '../helpers/db.js';
import { ENV, QueueFixture } from '../helpers/queue.js';

// Finding tenants by what an operator types (GraphQL tenants(search:), the portal's tenant picker):
// the start of a uid or a name, whatever the case, or a pasted id; a page at a time; from the
// indexes of migration 020 rather than by reading every tenant.
for (const dialect of DIALECTS) {
  describe(`listing tenants with a search (${dialect})`, () => {
    let f: QueueFixture;
    const made: Record<string, Tenant> = {};
    const make = async (uid: string, name: string, env = ENV) => (made[uid] = await createTenant(f.db, f.box, env, { uid, name }));
    const search = async (text: string, limit = 50, cursor?: string) =>
      (await listTenants(f.db, f.box, ENV, { limit, cursor, search: text })).data.map((t) => t.uid).sort();

    before(async () => {
      f = await QueueFixture.open(dialect);
      await f.db.run(`INSERT INTO environments (id, name, created_at) VALUES ('production', 'production', 0)`);
      await make('acme', 'Acme Corp');
      await make('labs', 'ACME Labs');
      await make('globex', 'Globex');
      await make('a_b', 'Underscore');
      await make('corp-acme', 'Holding');
      await make('acme-prod', 'Acme in production', 'production');
      for (let i = 1; i <= 25; i++) await make(`bulk-${String(i).padStart(2, '0')}`, `Bulk ${i}`);
    });
    after(() => f?.close());

    it('finds the tenants whose uid or name starts with the text, ignoring case, in this environment only', async () => {
      assert.deepEqual(await search('acme'), ['acme', 'labs']);
      assert.deepEqual(await search('ACME l'), ['labs']);
      assert.deepEqual(await search('Acme Corp'), ['acme']);
      assert.deepEqual(await search('GLOB'), ['globex']);
      assert.deepEqual(await search('corp'), ['corp-acme'], 'the start of the uid, not a word inside the name');
      assert.deepEqual(await search('zzz'), []);
    });

    it('finds a tenant by its id, and takes the text as it is: no wildcards', async () => {
      assert.deepEqual(await search(made.globex.id), ['globex']);
      assert.deepEqual(await search('a_'), ['a_b']);
      assert.deepEqual(await search('%'), []);
      assert.deepEqual(await search('_'), []);
    });

    it('pages through the matches newest first with the cursor', async () => {
      const seen: Tenant[] = [];
      let cursor: string | undefined;
      const sizes: number[] = [];
      do {
        const page = await listTenants(f.db, f.box, ENV, { limit: 10, cursor, search: 'bulk' });
        sizes.push(page.data.length);
        seen.push(...page.data);
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      assert.deepEqual(sizes, [10, 10, 5]);
      assert.deepEqual(
        seen.map((t) => t.id),
        Object.values(made)
          .filter((t) => t.uid.startsWith('bulk-'))
          .map((t) => t.id)
          .sort()
          .reverse(),
      );
      // Without a search, every tenant of the environment.
      assert.equal((await listTenants(f.db, f.box, ENV, { limit: 100 })).data.length, 30);
    });

    it('answers a search from the indexes on lower(uid) and lower(name)', async () => {
      // The statement listTenants sends, recorded, then explained by the database among 5,000 more
      // tenants (rolled back after): for the 31 above, reading them all is what a planner should do.
      // SQLite plans without statistics, as Herald runs it; Postgres with them, as autovacuum keeps them.
      let sent: { sql: string; params: unknown[] } | undefined;
      const recorder = {
        dialect,
        where: 'recorder',
        all: async (sql: string, params: unknown[] = []) => ((sent = { sql, params }), []),
        one: async () => undefined,
        run: async () => 0,
      } as Queryable;
      await listTenants(recorder, f.box, ENV, { limit: 20, search: 'bulk-1' });
      const rollBack = new Error('roll back');
      let plan = '';
      await f.db
        .tx(async (q) => {
          await q.run(
            `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
             INSERT INTO tenants (id, environment_id, uid, name, token, created_at, updated_at)
             SELECT 'ten_more_' || i, $1, 'more-' || i, 'More ' || i, 'sealed', 0, 0 FROM n`,
            [ENV],
          );
          if (dialect === 'postgres') await q.run('ANALYZE tenants');
          const rows = await q.all(`${dialect === 'sqlite' ? 'EXPLAIN QUERY PLAN' : 'EXPLAIN'} ${sent!.sql}`, sent!.params);
          plan = rows.map((r) => String(r.detail ?? r['QUERY PLAN'])).join('\n');
          throw rollBack;
        })
        .catch((err: unknown) => {
          if (err !== rollBack) throw err;
        });
      assert.match(plan, /tenants_uid_search/, plan);
      assert.match(plan, /tenants_name_search/, plan);
    });
  });
}
