import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authed, logInAs } from './helpers/graphql.js';
import { DIALECTS } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

// GraphQL tenants(search:) and tenant(id:), what the portal's tenant picker asks: an operator finds
// any tenant of its environment among many by the start of its uid or name, a page at a time, and
// looks up a remembered one by id; a tenant session sees its own tenant only, whatever it searches.
for (const dialect of DIALECTS) {
  describe(`GraphQL tenants search (${dialect})`, () => {
    let h: TestHerald;
    let op: string;
    let tenantSession: string;
    let productionOperator: string;
    let acme: { id: string; uid: string };
    const ids: Record<string, string> = {};

    const ok = async (key: string, query: string, variables: Record<string, unknown> = {}) => {
      const r = await authed(h, key, query, variables);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      return r.body.data;
    };
    const codeOf = async (key: string, query: string, variables: Record<string, unknown> = {}) =>
      (await authed(h, key, query, variables)).body.errors?.[0]?.extensions?.code;
    const SEARCH = `query($search: String, $first: Int, $after: String) {
      tenants(search: $search, first: $first, after: $after) { nodes { id uid name } pageInfo { hasNextPage endCursor } }
    }`;
    const uids = async (key: string, search: string) =>
      ((await ok(key, SEARCH, { search, first: 100 })).tenants.nodes as { uid: string }[]).map((t) => t.uid).sort();

    before(async () => {
      h = await startHerald(dialect);
      const make = async (uid: string, name: string) => {
        const r = await h.api('POST', '/v1/tenants', { uid, name });
        assert.equal(r.status, 201, JSON.stringify(r.body));
        ids[uid] = r.body.id;
      };
      await make('acme', 'Acme Corp');
      await make('acme-labs', 'Acme Labs');
      await make('globex', 'Globex');
      for (let i = 0; i < 120; i += 12)
        await Promise.all(Array.from({ length: 12 }, (_, j) => make(`bulk-${i + j + 1}`, `Bulk tenant ${i + j + 1}`)));
      acme = { id: ids.acme, uid: 'acme' };
      op = await logInAs(h);
      tenantSession = await logInAs(h, { role: 'tenant', tenantId: acme.id });
      productionOperator = await logInAs(h, { environment: 'PRODUCTION' });
    });
    after(() => h?.close());

    it('finds an operator the tenants whose uid or name starts with the text, ignoring case, or by id', async () => {
      assert.deepEqual(await uids(op, 'acme'), ['acme', 'acme-labs']);
      assert.deepEqual(await uids(op, 'ACME L'), ['acme-labs']);
      assert.deepEqual(await uids(op, 'glo'), ['globex']);
      assert.deepEqual(await uids(op, 'Bulk tenant 150'), []);
      assert.deepEqual(await uids(op, 'bulk-11'), [
        'bulk-11',
        'bulk-110',
        'bulk-111',
        'bulk-112',
        'bulk-113',
        'bulk-114',
        'bulk-115',
        'bulk-116',
        'bulk-117',
        'bulk-118',
        'bulk-119',
      ]);
      assert.deepEqual(await uids(op, ids.globex), ['globex']);
      assert.deepEqual(await uids(op, 'nobody'), []);
    });

    it('pages through the matches with the cursor, newest first', async () => {
      const pages: { uid: string; id: string }[][] = [];
      let after: string | null = null;
      do {
        const t: { nodes: { uid: string; id: string }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } = (
          await ok(op, SEARCH, { search: 'bulk', first: 50, after })
        ).tenants;
        pages.push(t.nodes);
        assert.equal(t.pageInfo.hasNextPage, t.pageInfo.endCursor !== null);
        after = t.pageInfo.endCursor;
      } while (after);
      assert.deepEqual(
        pages.map((p) => p.length),
        [50, 50, 20],
      );
      const all = pages.flat();
      assert.equal(new Set(all.map((t) => t.uid)).size, 120);
      assert.deepEqual(
        all.map((t) => t.id),
        all
          .map((t) => t.id)
          .sort()
          .reverse(),
      );
      // Every tenant, with no search, over more than one page of 100.
      const first = (await ok(op, SEARCH, { first: 100 })).tenants;
      assert.equal(first.nodes.length, 100);
      const rest = (await ok(op, SEARCH, { first: 100, after: first.pageInfo.endCursor })).tenants;
      assert.ok(rest.nodes.length >= 23, `the rest: ${rest.nodes.length}`);
    });

    it('refuses an empty or overlong search, saying what it takes', async () => {
      for (const search of ['', 'x'.repeat(201)]) {
        const r = await authed(h, op, SEARCH, { search });
        assert.equal(r.body.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT', JSON.stringify(r.body));
        assert.match(r.body.errors[0].message, /search must be 1 to 200 characters/);
      }
    });

    it('shows a tenant session its own tenant only, whatever it searches', async () => {
      assert.deepEqual(await uids(tenantSession, 'ac'), ['acme']);
      assert.deepEqual(await uids(tenantSession, 'acme-l'), []);
      assert.deepEqual(await uids(tenantSession, 'glob'), []);
      assert.deepEqual(await uids(tenantSession, ids.globex), []);
      // An operator of the other environment finds none of these.
      assert.deepEqual(await uids(productionOperator, 'acme'), []);
      assert.deepEqual(await uids(productionOperator, ids.acme), []);
    });

    it('looks one tenant up by id or uid (a remembered choice), for those who may see it', async () => {
      const TENANT = 'query($id: ID!) { tenant(id: $id) { id uid name } }';
      const bulk = { id: ids['bulk-7'], uid: 'bulk-7', name: 'Bulk tenant 7' };
      assert.deepEqual((await ok(op, TENANT, { id: bulk.id })).tenant, bulk);
      assert.deepEqual((await ok(op, TENANT, { id: 'bulk-7' })).tenant, bulk);
      assert.equal(await codeOf(op, TENANT, { id: 'ten_nobody' }), 'NOT_FOUND');
      assert.deepEqual((await ok(tenantSession, TENANT, { id: 'acme' })).tenant, { ...acme, name: 'Acme Corp' });
      assert.equal(await codeOf(tenantSession, TENANT, { id: bulk.id }), 'FORBIDDEN');
      assert.equal(await codeOf(productionOperator, TENANT, { id: bulk.id }), 'NOT_FOUND');
    });
  });
}
