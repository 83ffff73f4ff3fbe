import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// Every list of the API (found in the OpenAPI document, so a new list is covered too) hands out
// opaque cursors and refuses one it did not issue: "garbage" used to return everything, "aaa"
// nothing, and an attempts cursor past 2^31 was a 500 on Postgres.

for (const dialect of DIALECTS) {
  describe(`cursors and times (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    let lists: string[];
    const ids: Record<string, string> = {};
    before(async () => {
      h = await startHerald(dialect, { HERALD_RETRY_SCHEDULE: '0,0', HERALD_CIRCUIT_THRESHOLD: '100' });
      rx = await new Receiver(() => ({ status: 500 })).start();
      await h.api('POST', '/v1/event-types', { name: 'cursor.one' });
      await h.api('POST', '/v1/event-types', { name: 'cursor.two' });
      await h.api('POST', '/v1/tenants', { name: 'Cursor', uid: 'cur' });
      await h.api('POST', '/v1/tenants', { name: 'Cursor 2', uid: 'cur2' });
      for (const i of [1, 2]) {
        assert.equal((await h.api('POST', '/v1/tenants/cur/endpoints', { url: `${rx.url}/${i}` })).status, 201);
        assert.equal((await h.api('POST', '/v1/tenants/cur/customers', { key: `c${i}`, kind: 'person', name: `C ${i}` })).status, 201);
        assert.equal((await h.api('POST', '/v1/tenants/cur/sources', { provider: 'token', name: `s${i}`, secret: 'k' })).status, 201);
        assert.equal((await h.api('POST', '/v1/tenants/cur/events', { type: 'cursor.one', payload: { i } })).status, 202);
      }
      const customers = await h.api('GET', '/v1/tenants/cur/customers');
      ids.customer = customers.body.data[0].id;
      // A delivery with three failed attempts (retries at once), to page its attempts.
      const event = (await h.api('GET', '/v1/tenants/cur/events?limit=1')).body.data[0];
      const delivery = await eventually(
        async () => {
          const e = (await h.api('GET', `/v1/tenants/cur/events/${event.id}`)).body;
          return e.deliveries.find((d: { attempts: number }) => d.attempts >= 3);
        },
        15_000,
        'three attempts',
      );
      ids.id = delivery.id;
      const spec = (await h.api('GET', '/openapi.json', undefined, { key: null })).body;
      lists = Object.entries(spec.paths as Record<string, { get?: any }>)
        .filter(([, ops]) => ops.get?.responses?.['200']?.content?.['application/json']?.schema?.properties?.nextCursor)
        .map(([p]) => p.replace('{tenant}', 'cur').replace('{customer}', ids.customer).replace('{id}', ids.id));
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it('pages every list with opaque cursors', async () => {
      assert.ok(lists.length >= 12, `the OpenAPI document lists the lists (${lists.length})`);
      let paged = 0;
      for (const list of lists) {
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const r: { status: number; body: any } = await h.api('GET', `${list}?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
          assert.equal(r.status, 200, `${list}: ${JSON.stringify(r.body)}`);
          for (const item of r.body.data) seen.push(JSON.stringify(item.id ?? item.name ?? item.attempt));
          cursor = r.body.nextCursor;
          if (cursor) assert.doesNotMatch(cursor, /^[a-z]+_|^\d+$/, `${list}: the cursor is opaque`);
        } while (cursor && seen.length < 50);
        assert.equal(new Set(seen).size, seen.length, `${list}: no item twice`);
        if (seen.length >= 2) paged++;
      }
      assert.ok(paged >= 6, `several lists had two pages or more (${paged})`);
    });

    it('refuses with 400 a cursor it did not issue for that list', async () => {
      const fromEvents = (await h.api('GET', '/v1/tenants/cur/events?limit=1')).body.nextCursor;
      const fromTenants = (await h.api('GET', '/v1/tenants?limit=1')).body.nextCursor;
      assert.ok(fromEvents && fromTenants);
      const rawId = (await h.api('GET', '/v1/tenants/cur/events?limit=1')).body.data[0].id;
      for (const list of lists) {
        const other = list === '/v1/tenants/cur/events' ? fromTenants : fromEvents;
        for (const cursor of ['garbage', 'aaa', rawId, other, '99999999999999999999', `${fromEvents}=`, fromEvents.slice(0, -2)]) {
          const r = await h.api('GET', `${list}?cursor=${encodeURIComponent(cursor)}`);
          assert.equal(r.status, 400, `${list}?cursor=${cursor} → ${r.status}`);
          assert.match(r.body.error.message, /cursor/);
        }
      }
    });

    it('reads a leap second as the last millisecond of its minute, in a body and in a query', async () => {
      const e = await h.api('POST', '/v1/tenants/cur2/events', { type: 'cursor.two', payload: {}, occurredAt: '2016-12-31T23:59:60Z' });
      assert.equal(e.status, 202, JSON.stringify(e.body));
      assert.equal(e.body.occurredAt, '2016-12-31T23:59:59.999Z');
      const offset = await h.api('POST', '/v1/tenants/cur2/events', {
        type: 'cursor.two',
        payload: {},
        occurredAt: '2016-12-31T18:59:60.5-05:00',
      });
      assert.equal(offset.body.occurredAt, '2016-12-31T23:59:59.999Z');
      const since = await h.api('GET', '/v1/tenants/cur2/events?since=2016-12-31T23:59:60Z&until=2999-12-31T23:59:60Z');
      assert.equal(since.status, 200, JSON.stringify(since.body));
      assert.equal(since.body.data.length, 2);
      const endpoint = (await h.api('GET', '/v1/tenants/cur/endpoints?limit=1')).body.data[0];
      const recovery = await h.api('POST', `/v1/tenants/cur/endpoints/${endpoint.id}/recover`, { since: '2016-12-31T23:59:60Z' });
      assert.equal(recovery.status, 202, JSON.stringify(recovery.body));
    });
  });
}
