import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createKey } from '../src/keys/keys.js';
import { DIALECTS } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

const nested = (levels: number, leaf = '1') => '{"a":'.repeat(levels) + leaf + '}'.repeat(levels);

/**
 * POSTs headers and the first bytes of a body that claims `declared` bytes, and resolves with the
 * answer without ever sending the rest: an answer proves Herald did not wait for the body.
 */
function postWithoutBody(url: string, key: string, declared: number): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': declared } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          resolve({ status: res.statusCode!, body: JSON.parse(text) });
          req.destroy();
        });
      },
    );
    req.on('error', reject);
    req.write('{"events":[');
  });
}

for (const dialect of DIALECTS) {
  describe(`JSON depth and batch size at the edge (${dialect})`, () => {
    let h: TestHerald;
    before(async () => {
      h = await startHerald(dialect, { HERALD_MAX_BATCH_BYTES: String(64 * 1024) });
      await h.api('POST', '/v1/event-types', { name: 'limits.thing' });
      await h.api('POST', '/v1/tenants', { name: 'Limits', uid: 'limits' });
      await h.api('POST', '/v1/tenants', { name: 'Other', uid: 'other' });
    });
    after(() => h.close());

    it('refuses bodies nested deeper than HERALD_MAX_JSON_DEPTH (64) with a 400, however deep, on every route', async () => {
      // The body is one level, the payload the rest: 63 levels of payload make a body 64 deep.
      assert.equal((await h.api('POST', '/v1/tenants/limits/events', `{"type":"limits.thing","payload":${nested(63)}}`)).status, 202);
      for (const levels of [64, 4_100, 5_000, 50_000]) {
        const r = await h.api('POST', '/v1/tenants/limits/events', `{"type":"limits.thing","payload":${nested(levels)}}`);
        assert.equal(r.status, 400, `payload nested ${levels} levels`);
        assert.match(r.body.error.message, /nested more than 64 levels deep \(at payload(\.a)+…?\).*HERALD_MAX_JSON_DEPTH/);
      }
      const arrays = await h.api(
        'POST',
        '/v1/tenants/limits/events',
        `{"type":"limits.thing","payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      );
      assert.equal(arrays.status, 400);
      const metadata = await h.api('POST', '/v1/tenants', `{"name":"Deep","metadata":${nested(4_100)}}`);
      assert.equal(metadata.status, 400);
      const schema = await h.api('POST', '/v1/event-types', `{"name":"deep.schema","schema":${nested(5_000, '{}')}}`);
      assert.equal(schema.status, 400);
      const batch = await h.api(
        'POST',
        '/v1/tenants/limits/events/batch',
        `{"events":[{"type":"limits.thing","payload":${nested(5_000)}}]}`,
      );
      assert.equal(batch.status, 400);
      assert.match(batch.body.error.message, /at events\[0\]\.payload/);
      // Everything that was accepted reads back.
      assert.equal((await h.api('GET', '/v1/tenants')).status, 200);
      assert.equal((await h.api('GET', '/v1/tenants/limits/events')).status, 200);
    });

    it('reads back a payload stored nested 20,000 levels deep before depth was bounded', async () => {
      const tenant = (await h.api('GET', '/v1/tenants/limits')).body;
      const deep = nested(20_000);
      await h.herald.db.run(
        `INSERT INTO events (id, tenant_id, type, payload, status, occurred_at, created_at) VALUES ('evt_0000000000deep00000000000', $1, 'limits.thing', $2, 'N', $3, $3)`,
        [tenant.id, deep, Date.now()],
      );
      const one = await fetch(`${h.url}/v1/tenants/limits/events/evt_0000000000deep00000000000`, {
        headers: { authorization: `Bearer ${h.sandboxKey}` },
      });
      assert.equal(one.status, 200);
      assert.ok((await one.text()).includes(`"payload":${deep},`));
      const list = await h.api('GET', '/v1/tenants/limits/events?limit=250');
      assert.equal(list.status, 200);
    });

    it('refuses a batch over HERALD_MAX_BATCH_BYTES with a 413 that says so', async () => {
      const events = Array.from({ length: 100 }, (_, i) => ({ type: 'limits.thing', payload: { i, filler: 'x'.repeat(1000) } }));
      const r = await h.api('POST', '/v1/tenants/limits/events/batch', { events });
      assert.equal(r.status, 413);
      assert.equal(r.body.error.code, 'payload_too_large');
      assert.match(r.body.error.message, /65536 bytes \(HERALD_MAX_BATCH_BYTES\)/);
      assert.equal(
        (await h.api('POST', '/v1/tenants/limits/events/batch', { events: events.slice(0, 20) })).status,
        202,
        'a batch under the limit passes',
      );
    });

    it('checks the key and the tenant before reading the body', async () => {
      const limits = (await h.api('GET', '/v1/tenants/limits')).body;
      const { key } = await createKey(h.herald.db, { environmentId: 'sandbox', environment: 'sandbox', tenantId: limits.id });
      // 4 MB announced, a dozen bytes sent: the answer comes without the rest.
      const scoped = await postWithoutBody(`${h.url}/v1/tenants/other/events/batch`, key, 4_000_000);
      assert.equal(scoped.status, 403);
      assert.match(scoped.body.error.message, /another tenant/);
      const single = await postWithoutBody(`${h.url}/v1/tenants/other/events`, key, 200_000);
      assert.equal(single.status, 403);
      const unknown = await postWithoutBody(`${h.url}/v1/tenants/nobody/events/batch`, h.sandboxKey, 4_000_000);
      assert.equal(unknown.status, 404);
      const badKey = await postWithoutBody(`${h.url}/v1/tenants/limits/events/batch`, 'sk_test_nope', 4_000_000);
      assert.equal(badKey.status, 401);
    });
  });
}
