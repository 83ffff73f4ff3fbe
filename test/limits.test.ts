import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Agent, request } from 'undici';
import { DIALECTS } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

for (const dialect of DIALECTS) {
  describe(`limits and quotas (${dialect})`, () => {
    let h: TestHerald;
    before(async () => {
      h = await startHerald(dialect, { HERALD_API_RATE_LIMIT: '20', HERALD_MAX_ENDPOINTS_PER_TENANT: '3' });
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' }, { key: h.productionKey });
    });
    after(() => h.close());

    it('answers 429 with retry-after when a key goes over its rate', async () => {
      const answers = await Promise.all(Array.from({ length: 60 }, () => h.api('GET', '/v1/event-types')));
      const limited = answers.filter((r) => r.status === 429);
      assert.ok(limited.length > 0, 'some requests were limited');
      assert.ok(answers.filter((r) => r.status === 200).length >= 20, 'a burst of one second passes');
      assert.match(limited[0].body.error.message, /20 requests per second/);
      assert.ok(Number(limited[0].headers.get('retry-after')) >= 1);
      // Other keys have their own bucket.
      assert.equal((await h.api('GET', '/v1/event-types', undefined, { key: h.productionKey })).status, 200);
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal((await h.api('GET', '/v1/event-types')).status, 200, 'the bucket refills');
    });

    it('limits the endpoints of a tenant', async () => {
      await h.api('POST', '/v1/tenants', { name: 'many', uid: 'many' }, { key: h.productionKey });
      for (let i = 0; i < 3; i++) {
        assert.equal(
          (await h.api('POST', '/v1/tenants/many/endpoints', { url: `https://example.com/${i}` }, { key: h.productionKey })).status,
          201,
        );
      }
      const over = await h.api('POST', '/v1/tenants/many/endpoints', { url: 'https://example.com/3' }, { key: h.productionKey });
      assert.equal(over.status, 409);
      assert.match(over.body.error.message, /limit/);
    });

    it('enforces a call quota per tenant ("100 free production calls")', async () => {
      const t = await h.api('POST', '/v1/tenants', { name: 'trial', uid: 'trial', callQuota: 5 }, { key: h.productionKey });
      assert.equal(t.body.callQuota, 5);
      const statuses: number[] = [];
      for (let i = 0; i < 8; i++) {
        statuses.push(
          (await h.api('POST', '/v1/tenants/trial/events', { type: 'thing.happened', payload: { i } }, { key: h.productionKey })).status,
        );
      }
      assert.deepEqual(statuses, [202, 202, 202, 202, 202, 429, 429, 429]);
      const over = await h.api('GET', '/v1/tenants/trial/events', undefined, { key: h.productionKey });
      assert.equal(over.status, 429);
      assert.match(over.body.error.message, /quota of 5 calls/);
      assert.ok(over.headers.get('retry-after'));
      // The operator raises it; the count goes on.
      const raised = await h.api('PATCH', '/v1/tenants/trial', { callQuota: 10 }, { key: h.productionKey });
      assert.equal(raised.status, 200);
      assert.equal(raised.body.callsUsed, 5);
      assert.equal(
        (await h.api('POST', '/v1/tenants/trial/events', { type: 'thing.happened', payload: {} }, { key: h.productionKey })).status,
        202,
      );
      const events = await h.api('GET', '/v1/tenants/trial/events', undefined, { key: h.productionKey });
      assert.equal(events.body.data.length, 6, 'refused calls stored nothing');
    });
  });
}

for (const dialect of DIALECTS) {
  describe(`endpoint limit under concurrency (${dialect})`, () => {
    it('ends at exactly the limit when 150 creates arrive at once', async () => {
      const h = await startHerald(dialect, { HERALD_MAX_ENDPOINTS_PER_TENANT: '20' });
      // 150 connections opened (and the key and tenant caches warmed) first, so that the creates
      // reach the server together, as from 150 clients, rather than one connection setup apart.
      const agent = new Agent({ connections: 150, keepAliveTimeout: 30_000 });
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await request(h.url + path, {
          method: method as 'GET',
          dispatcher: agent,
          headers: { authorization: `Bearer ${h.sandboxKey}`, 'content-type': 'application/json' },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
        await res.body.text();
        return res.statusCode;
      };
      try {
        await h.api('POST', '/v1/tenants', { name: 'race', uid: 'race' });
        for (let i = 0; i < 12; i++)
          assert.equal(await call('POST', '/v1/tenants/race/endpoints', { url: `http://127.0.0.1:9/before/${i}` }), 201);
        await Promise.all(Array.from({ length: 150 }, () => call('GET', '/v1/tenants/race')));
        const statuses = await Promise.all(
          Array.from({ length: 150 }, (_, i) => call('POST', '/v1/tenants/race/endpoints', { url: `http://127.0.0.1:9/race/${i}` })),
        );
        assert.equal(statuses.filter((s) => s === 201).length, 8, `answers: ${JSON.stringify(statuses)}`);
        assert.equal(statuses.filter((s) => s === 409).length, 142);
        const rows = await h.herald.db.one<{ n: number }>(
          "SELECT COUNT(*) AS n FROM endpoints e JOIN tenants t ON t.id = e.tenant_id WHERE t.uid = 'race' AND e.deleted_at IS NULL",
        );
        assert.equal(Number(rows!.n), 20);
      } finally {
        await agent.close();
        await h.close();
      }
    });
  });
}
