import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';

for (const dialect of DIALECTS) {
  describe(`REST API (${dialect})`, () => {
    let h: TestHerald;
    before(async () => {
      h = await startHerald(dialect);
      const r = await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
      assert.equal(r.status, 200);
    });
    after(() => h.close());

    it('answers health without a key and carries x-request-id on every response', async () => {
      const r = await h.api('GET', '/v1/health', undefined, { key: null });
      assert.equal(r.status, 200);
      assert.deepEqual(r.body, { status: 'ok' });
      assert.match(r.headers.get('x-request-id')!, /^req_/);
    });

    it('tells keep-alive clients a shorter idle time than the connection timeout, so no reused socket is already closed', async () => {
      const agent = new http.Agent({ keepAlive: true });
      const res = await new Promise<http.IncomingMessage>((resolve, reject) =>
        http.get(`${h.url}/v1/health`, { agent }, resolve).on('error', reject),
      );
      agent.destroy();
      res.resume();
      assert.match(String(res.headers['keep-alive']), /timeout=30\b/);
    });

    it('serves an OpenAPI 3.1 document that lists the v1 paths', async () => {
      const r = await h.api('GET', '/openapi.json', undefined, { key: null });
      assert.equal(r.status, 200);
      assert.equal(r.body.openapi, '3.1.0');
      for (const p of [
        '/v1/tenants',
        '/v1/tenants/{tenant}/events',
        '/v1/tenants/{tenant}/endpoints/{id}/rotate-secret',
        '/v1/event-types/import',
      ]) {
        assert.ok(r.body.paths[p], `missing ${p}`);
      }
    });

    it('refuses a missing or wrong key with 401 and an error body', async () => {
      const none = await h.api('GET', '/v1/tenants', undefined, { key: null });
      assert.equal(none.status, 401);
      assert.equal(none.body.error.code, 'unauthorized');
      assert.match(none.body.error.requestId, /^req_/);
      const wrong = await h.api('GET', '/v1/tenants', undefined, { key: 'sk_test_nope' });
      assert.equal(wrong.status, 401);
    });

    it('imports every Productfy trigger type with a schema and an example', async () => {
      const r = await h.api('GET', '/v1/event-types?limit=250');
      const names = r.body.data.map((t: any) => t.name);
      for (const n of [
        'PymtCard',
        'FinAccCreate',
        'FinAccStmtCreate',
        'FinAccTxDwnld',
        'KycUpdate',
        'KybCipUpdate',
        'AchTrfVldtnFail',
        'AchTrfVldtnSccss',
        'AchTrfSubmit',
        'AchTrfFail',
        'AchTrfSccss',
        'DrctDepFinTxCreate',
        'IncmpltPymtCardApplcSubmit',
        'AccBalRfrshCmplt',
        'CnsmrDsbrs',
      ]) {
        assert.ok(names.includes(n), `missing ${n}`);
      }
      const one = await h.api('GET', '/v1/event-types/PymtCard');
      assert.equal(one.body.schema.type, 'object');
      assert.equal(one.body.example.transactionId, 'Pfy_FinTx-QT5RWtntI3b8M6pwtl0r');
      const again = await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' });
      assert.deepEqual(again.body, { imported: 15 });
      const bad = await h.api('POST', '/v1/event-types/import', { catalog: 'nope' });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /productfy/);
    });

    it('creates event types, refuses duplicates and invalid schemas', async () => {
      const r = await h.api('POST', '/v1/event-types', {
        name: 'payment.succeeded',
        description: 'paid',
        schema: { type: 'object', required: ['amount'], properties: { amount: { type: 'integer' } } },
        example: { amount: 100 },
      });
      assert.equal(r.status, 201);
      assert.equal((await h.api('POST', '/v1/event-types', { name: 'payment.succeeded' })).status, 409);
      const bad = await h.api('POST', '/v1/event-types', { name: 'x.bad', schema: { type: 'wat' } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /not a valid JSON Schema/);
      const mismatch = await h.api('POST', '/v1/event-types', {
        name: 'x.mismatch',
        schema: { type: 'object', required: ['a'] },
        example: {},
      });
      assert.equal(mismatch.status, 400);
      const unknownField = await h.api('POST', '/v1/event-types', { name: 'x.y', colour: 'red' });
      assert.equal(unknownField.status, 400);
      assert.match(unknownField.body.error.message, /unknown field "colour"/);
      const patched = await h.api('PATCH', '/v1/event-types/payment.succeeded', { description: 'a payment went through' });
      assert.equal(patched.body.description, 'a payment went through');
      assert.equal(patched.body.example.amount, 100);
    });

    it('creates, reads (by id and uid), lists, updates and deletes tenants', async () => {
      const a = await h.api('POST', '/v1/tenants', { name: 'Acme', uid: 'acme' });
      assert.equal(a.status, 201);
      assert.match(a.body.token, /^whtok_/);
      assert.equal((await h.api('POST', '/v1/tenants', { name: 'Again', uid: 'acme' })).status, 409);
      assert.equal((await h.api('GET', `/v1/tenants/${a.body.id}`)).body.uid, 'acme');
      assert.equal((await h.api('GET', '/v1/tenants/acme')).body.id, a.body.id);
      const p = await h.api('PATCH', '/v1/tenants/acme', { name: 'Acme Inc' });
      assert.equal(p.body.name, 'Acme Inc');
      const b = await h.api('POST', '/v1/tenants', { name: 'Temp' });
      assert.equal(b.body.uid, b.body.id);
      assert.equal((await h.api('DELETE', `/v1/tenants/${b.body.id}`)).status, 204);
      assert.equal((await h.api('GET', `/v1/tenants/${b.body.id}`)).status, 404);
      // the other environment does not see sandbox tenants
      assert.equal((await h.api('GET', '/v1/tenants/acme', undefined, { key: h.productionKey })).status, 404);
    });

    it('searches tenants by the start of their uid or name, or by id, and pages the matches', async () => {
      const made: { id: string }[] = [];
      for (const [uid, name] of [
        ['north-1', 'Northwind Traders'],
        ['north-2', 'Northwind Retail'],
        ['globex', 'North Globex'],
        ['initech', 'Initech'],
      ])
        made.push((await h.api('POST', '/v1/tenants', { uid, name })).body);
      const uids = (r: { body: { data: { uid: string }[] } }) => r.body.data.map((t) => t.uid);
      // uid or name, any case, newest first
      assert.deepEqual(uids(await h.api('GET', '/v1/tenants?search=NORTH')), ['globex', 'north-2', 'north-1']);
      assert.deepEqual(uids(await h.api('GET', `/v1/tenants?search=${made[3].id}`)), ['initech']);
      assert.deepEqual(uids(await h.api('GET', '/v1/tenants?search=nobody')), []);
      const first = await h.api('GET', '/v1/tenants?search=north&limit=2');
      assert.deepEqual(uids(first), ['globex', 'north-2']);
      const next = await h.api('GET', `/v1/tenants?search=north&limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
      assert.deepEqual(uids(next), ['north-1']);
      assert.equal(next.body.nextCursor, null);
      const empty = await h.api('GET', '/v1/tenants?search=');
      assert.equal(empty.status, 400);
      assert.match(empty.body.error.message, /search/);
    });

    it('pages lists with limit and cursor', async () => {
      for (let i = 0; i < 5; i++) await h.api('POST', '/v1/tenants', { name: `page-${i}`, uid: `page-${i}` });
      const seen = new Set<string>();
      let cursor: string | null = null;
      let pages = 0;
      do {
        const r: any = await h.api('GET', `/v1/tenants?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(r.status, 200);
        assert.ok(r.body.data.length <= 2);
        for (const t of r.body.data) seen.add(t.id);
        cursor = r.body.nextCursor;
        pages++;
      } while (cursor && pages < 50);
      assert.ok(seen.size >= 6);
      assert.equal((await h.api('GET', '/v1/tenants?limit=0')).status, 400);
      assert.equal((await h.api('GET', '/v1/tenants?limit=251')).status, 400);
      assert.equal((await h.api('GET', '/v1/tenants?limit=abc')).status, 400);
    });

    it('manages endpoints: create with secret, validate input, patch, rotate, delete', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Ep', uid: 'ep-tenant' });
      const e = await h.api('POST', '/v1/tenants/ep-tenant/endpoints', {
        url: 'http://127.0.0.1:9/hook',
        eventTypes: ['KycUpdate'],
        headers: { 'x-app': 'one' },
      });
      assert.equal(e.status, 201);
      assert.match(e.body.secret, /^whsec_/);
      assert.deepEqual(e.body.eventTypes, ['KycUpdate']);
      assert.equal(e.body.format, 'standard');
      const got = await h.api('GET', `/v1/tenants/ep-tenant/endpoints/${e.body.id}`);
      assert.equal(got.body.secret, undefined, 'the secret is not in ordinary reads');
      assert.equal((await h.api('GET', `/v1/tenants/ep-tenant/endpoints/${e.body.id}/secret`)).body.secret, e.body.secret);

      for (const [body, pattern] of [
        [{ url: 'not a url' }, /not a valid absolute URL/],
        [{ url: 'ftp://example.com/x' }, /http or https/],
        [{ url: 'https://example.com', eventTypes: ['Nope'] }, /unknown event types: Nope/],
        [{ url: 'https://example.com', format: 'xml' }, /format/],
        [{ url: 'https://example.com', headers: { 'webhook-id': 'x' } }, /set by Herald/],
        [{ url: 'https://example.com', color: 1 }, /unknown field "color"/],
        [{ url: 42 }, /url/],
      ] as const) {
        const r = await h.api('POST', '/v1/tenants/ep-tenant/endpoints', body);
        assert.equal(r.status, 400, JSON.stringify(body));
        assert.match(r.body.error.message, pattern);
      }

      const p = await h.api('PATCH', `/v1/tenants/ep-tenant/endpoints/${e.body.id}`, { enabled: false, format: 'productfy' });
      assert.equal(p.body.enabled, false);
      assert.equal(p.body.format, 'productfy');
      const rot = await h.api('POST', `/v1/tenants/ep-tenant/endpoints/${e.body.id}/rotate-secret`);
      assert.match(rot.body.secret, /^whsec_/);
      assert.notEqual(rot.body.secret, e.body.secret);
      assert.equal((await h.api('DELETE', `/v1/tenants/ep-tenant/endpoints/${e.body.id}`)).status, 204);
      assert.equal((await h.api('GET', `/v1/tenants/ep-tenant/endpoints/${e.body.id}`)).status, 404);
      assert.equal((await h.api('GET', '/v1/tenants/nobody/endpoints')).status, 404);
    });

    it('keeps production endpoints on public https URLs', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Prod', uid: 'prod-t' }, { key: h.productionKey });
      const http = await h.api('POST', '/v1/tenants/prod-t/endpoints', { url: 'http://example.com/h' }, { key: h.productionKey });
      assert.equal(http.status, 400);
      assert.match(http.body.error.message, /https/);
      const loop = await h.api('POST', '/v1/tenants/prod-t/endpoints', { url: 'https://127.0.0.1/h' }, { key: h.productionKey });
      assert.equal(loop.status, 400);
      assert.match(loop.body.error.message, /private or loopback/);
      const ok = await h.api('POST', '/v1/tenants/prod-t/endpoints', { url: 'https://example.com/h' }, { key: h.productionKey });
      assert.equal(ok.status, 201);
    });

    it('accepts events, validates payloads against their type and answers N with no endpoint', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Ev', uid: 'ev-t' });
      const e = await h.api('POST', '/v1/tenants/ev-t/events', {
        type: 'KycUpdate',
        payload: { personId: 'p1', kycStatus: 'P' },
        occurredAt: '2021-07-09T09:15:18.223Z',
      });
      assert.equal(e.status, 202);
      assert.equal(e.body.status, 'N');
      assert.equal(e.body.occurredAt, '2021-07-09T09:15:18.223Z');
      const read = await h.api('GET', `/v1/tenants/ev-t/events/${e.body.id}`);
      assert.deepEqual(read.body.payload, { personId: 'p1', kycStatus: 'P' });
      assert.deepEqual(read.body.deliveries, []);

      const badPath = await h.api('POST', '/v1/tenants/ev-t/events', { type: 'KycUpdate', payload: { personId: 7, kycStatus: 'P' } });
      assert.equal(badPath.status, 400);
      assert.match(badPath.body.error.message, /\/personId must be string/);
      const unknown = await h.api('POST', '/v1/tenants/ev-t/events', { type: 'no.such', payload: {} });
      assert.equal(unknown.status, 400);
      assert.match(unknown.body.error.message, /POST \/v1\/event-types/);
      const malformed = await h.api('POST', '/v1/tenants/ev-t/events', '{"type": "KycUpdate", "payload": {');
      assert.equal(malformed.status, 400);
      assert.match(malformed.body.error.message, /malformed JSON/);
      const noPayload = await h.api('POST', '/v1/tenants/ev-t/events', { type: 'KycUpdate' });
      assert.equal(noPayload.status, 400);
      const badTime = await h.api('POST', '/v1/tenants/ev-t/events', {
        type: 'KycUpdate',
        payload: { personId: 'p', kycStatus: 'P' },
        occurredAt: 'yesterday',
      });
      assert.equal(badTime.status, 400);
      const huge = await h.api('POST', '/v1/tenants/ev-t/events', { type: 'herald.any', payload: { blob: 'x'.repeat(300 * 1024) } });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, 'payload_too_large');
      const wrongType = await h.api('POST', '/v1/tenants/ev-t/events', 'type=KycUpdate', { headers: { 'content-type': 'text/plain' } });
      assert.equal(wrongType.status, 415);
    });

    it('is idempotent on the body key and on the Idempotency-Key header', async () => {
      await h.api('POST', '/v1/tenants/ev-t/endpoints', { url: 'http://127.0.0.1:9/never' });
      const body = { type: 'KycUpdate', payload: { personId: 'p2', kycStatus: 'F' }, idempotencyKey: 'kyc-p2' };
      const one = await h.api('POST', '/v1/tenants/ev-t/events', body);
      const two = await h.api('POST', '/v1/tenants/ev-t/events', body);
      assert.equal(one.body.id, two.body.id);
      const viaHeader = { type: 'KycUpdate', payload: { personId: 'p3', kycStatus: 'F' } };
      const three = await h.api('POST', '/v1/tenants/ev-t/events', viaHeader, { headers: { 'idempotency-key': 'kyc-p3' } });
      const four = await h.api('POST', '/v1/tenants/ev-t/events', viaHeader, { headers: { 'idempotency-key': 'kyc-p3' } });
      assert.equal(three.body.id, four.body.id);
      const ev = await h.api('GET', `/v1/tenants/ev-t/events/${one.body.id}`);
      assert.equal(ev.body.deliveries.length, 1, 'the repeat created no new delivery');
    });

    it('accepts a batch of events, all or nothing', async () => {
      const events = Array.from({ length: 20 }, (_, i) => ({ type: 'KycUpdate', payload: { personId: `b${i}`, kycStatus: 'P' } }));
      const r = await h.api('POST', '/v1/tenants/ev-t/events/batch', { events });
      assert.equal(r.status, 202);
      assert.equal(r.body.data.length, 20);
      const bad = await h.api('POST', '/v1/tenants/ev-t/events/batch', {
        events: [...events, { type: 'KycUpdate', payload: { kycStatus: 'Z' } }],
      });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error.message, /^events\[20\]: /);
      const tooMany = await h.api('POST', '/v1/tenants/ev-t/events/batch', { events: Array.from({ length: 1001 }, () => events[0]) });
      assert.equal(tooMany.status, 400);
      assert.equal((await h.api('POST', '/v1/tenants/ev-t/events/batch', { events: [] })).status, 400);
    });

    it('filters the event list by type, status and time', async () => {
      const since = new Date(Date.now() - 60_000).toISOString();
      const r = await h.api('GET', `/v1/tenants/ev-t/events?type=KycUpdate&status=I&since=${since}&limit=5`);
      assert.equal(r.status, 200);
      assert.ok(r.body.data.length > 0);
      for (const e of r.body.data) {
        assert.equal(e.type, 'KycUpdate');
        assert.equal(e.status, 'I');
      }
      const future = await h.api('GET', `/v1/tenants/ev-t/events?since=${new Date(Date.now() + 3600_000).toISOString()}`);
      assert.deepEqual(future.body.data, []);
      assert.equal((await h.api('GET', '/v1/tenants/ev-t/events?status=X')).status, 400);
    });

    it('limits a tenant-scoped key to its own tenant', async () => {
      const { createKey } = await import('../src/keys/keys.js');
      const mine = (await h.api('POST', '/v1/tenants', { name: 'Mine', uid: 'mine' })).body;
      await h.api('POST', '/v1/tenants', { name: 'Theirs', uid: 'theirs' });
      const { key } = await createKey(h.herald.db, { environmentId: 'sandbox', environment: 'sandbox', tenantId: mine.id });
      assert.equal((await h.api('GET', '/v1/tenants/mine', undefined, { key })).status, 200);
      assert.equal((await h.api('GET', `/v1/tenants/${mine.id}/endpoints`, undefined, { key })).status, 200);
      assert.equal((await h.api('GET', '/v1/tenants/theirs', undefined, { key })).status, 403);
      assert.equal((await h.api('GET', '/v1/tenants/theirs/events', undefined, { key })).status, 403);
      assert.equal((await h.api('GET', '/v1/tenants', undefined, { key })).status, 403);
      assert.equal((await h.api('POST', '/v1/tenants', { name: 'x' }, { key })).status, 403);
      assert.equal((await h.api('GET', '/v1/event-types', undefined, { key })).status, 200, 'the catalog is readable');
    });

    it('says what is wrong with a request once and plainly: the allowed values, the unknown or missing field', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Msg', uid: 'msg-t' });
      const provider = await h.api('POST', '/v1/tenants/msg-t/sources', { provider: 'nope', name: 'x' });
      assert.equal(provider.status, 400);
      assert.match(
        provider.body.error.message,
        /^invalid request: provider must be one of: chargify, stripe, github, shopify, standard, token, basic$/,
      );
      const wrongType = await h.api('POST', '/v1/tenants/msg-t/sources', { provider: 7, name: 'x' });
      assert.match(wrongType.body.error.message, /^invalid request: provider must be one of: chargify, stripe, /);
      const format = await h.api('POST', '/v1/tenants/msg-t/endpoints', { url: 'http://127.0.0.1:9/x', format: 'xml' });
      assert.match(format.body.error.message, /^invalid request: format must be one of: standard, productfy/);
      const unknown = await h.api('POST', '/v1/tenants/msg-t/endpoints', { url: 'http://127.0.0.1:9/x', colour: 'red' });
      assert.match(unknown.body.error.message, /the body has an unknown field "colour"; remove it \(known fields: url, /);
      const missing = await h.api('POST', '/v1/event-types', { description: 'no name' });
      assert.match(missing.body.error.message, /the body is missing the required field "name"/);
      const inBatch = await h.api('POST', '/v1/tenants/msg-t/events/batch', { events: [{ payload: {} }] });
      assert.match(inBatch.body.error.message, /events\[0\] is missing the required field "type"/);
      const query = await h.api('GET', '/v1/tenants/msg-t/events?status=X');
      assert.match(query.body.error.message, /^invalid request: query parameter status must be one of: N, I, S, F$/);
      for (const r of [provider, wrongType, format, unknown, missing, inBatch, query]) {
        assert.equal(r.status, 400);
        assert.doesNotMatch(r.body.error.message, /equal to constant|must match a schema in anyOf/);
      }
    });

    it('accepts a POST or DELETE without a body that says content-type: application/json', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Bodiless', uid: 'bodiless' });
      const json = { headers: { 'content-type': 'application/json' } };
      const ep = (await h.api('POST', '/v1/tenants/bodiless/endpoints', { url: 'http://127.0.0.1:9/x' })).body;
      const rotated = await h.api('POST', `/v1/tenants/bodiless/endpoints/${ep.id}/rotate-secret`, undefined, json);
      assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
      const test = await h.api('POST', `/v1/tenants/bodiless/endpoints/${ep.id}/test`, undefined, json);
      assert.equal(test.status, 202, JSON.stringify(test.body));
      const emptyText = await h.api('POST', `/v1/tenants/bodiless/endpoints/${ep.id}/test`, '', json);
      assert.equal(emptyText.status, 202, JSON.stringify(emptyText.body));
      const quiet = (await h.api('POST', '/v1/tenants/bodiless/endpoints', { url: 'http://127.0.0.1:9/y' })).body;
      assert.equal((await h.api('DELETE', `/v1/tenants/bodiless/endpoints/${quiet.id}`, undefined, json)).status, 204);
      assert.equal((await h.api('DELETE', '/v1/tenants/bodiless', '', json)).status, 204);
      // A route that needs fields says so.
      const needs = await h.api('POST', '/v1/tenants', undefined, json);
      assert.equal(needs.status, 400);
      assert.match(needs.body.error.message, /the body is empty .*send a JSON object/);
    });

    it('refuses an idempotency key reused with a different request (409); the same request, even sent at once, answers one event', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Idem', uid: 'idem-t' });
      await h.api('POST', '/v1/event-types', { name: 'idem.other' });
      await h.api('POST', '/v1/tenants/idem-t/endpoints', { url: 'http://127.0.0.1:9/never' });
      const key = { headers: { 'idempotency-key': 'order-1' } };
      const body = { type: 'KycUpdate', payload: { personId: 'p1', kycStatus: 'P' }, occurredAt: '2021-07-09T09:15:18.223Z' };
      const first = await h.api('POST', '/v1/tenants/idem-t/events', body, key);
      assert.equal(first.status, 202);
      assert.equal((await h.api('POST', '/v1/tenants/idem-t/events', body, key)).body.id, first.body.id);
      for (const changed of [
        { ...body, payload: { personId: 'p1', kycStatus: 'F' } },
        { ...body, occurredAt: '2021-07-09T09:15:19.000Z' },
        { ...body, type: 'idem.other' },
        { type: body.type, payload: body.payload },
      ]) {
        const r = await h.api('POST', '/v1/tenants/idem-t/events', changed, key);
        assert.equal(r.status, 409, JSON.stringify(changed));
        assert.equal(r.body.error.code, 'conflict');
        assert.match(
          r.body.error.message,
          new RegExp(`idempotency key "order-1" was already used for event ${first.body.id} with a different`),
        );
      }
      const batch = await h.api('POST', '/v1/tenants/idem-t/events/batch', {
        events: [
          { type: 'KycUpdate', payload: { personId: 'p9', kycStatus: 'P' } },
          { ...body, payload: { personId: 'p2', kycStatus: 'P' }, idempotencyKey: 'order-1' },
        ],
      });
      assert.equal(batch.status, 409);

      // Ten at once with one new key: one event, one delivery, the same answer to all.
      const same = { type: 'KycUpdate', payload: { personId: 'p3', kycStatus: 'P' } };
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => h.api('POST', '/v1/tenants/idem-t/events', same, { headers: { 'idempotency-key': 'order-2' } })),
      );
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([202]));
      assert.equal(new Set(answers.map((a) => a.body.id)).size, 1);
      assert.equal((await h.api('GET', `/v1/tenants/idem-t/events/${answers[0].body.id}`)).body.deliveries.length, 1);
      const stored = (await h.api('GET', '/v1/tenants/idem-t/events?limit=250')).body.data;
      assert.equal(stored.length, 2, 'the refused requests, the batch included, stored nothing');
    });

    it('fails only the request that reuses a key when it shares a commit with others, and counts only what was stored', async () => {
      const t = await h.api('POST', '/v1/tenants', { name: 'Idem group', uid: 'idem-group' });
      await h.api('POST', '/v1/tenants/idem-group/endpoints', { url: 'http://127.0.0.1:9/never' });
      const post = (body: unknown) => h.api('POST', '/v1/tenants/idem-group/events', body);
      const taken = await post({ type: 'KycUpdate', payload: { personId: 'first', kycStatus: 'P' }, idempotencyKey: 'taken' });
      assert.equal(taken.status, 202);
      // Sent at once, these go in one group commit (on Postgres, one statement).
      const [fresh, reusedKey, sameAgain, batch, ...more] = await Promise.all([
        post({ type: 'KycUpdate', payload: { personId: 'fresh', kycStatus: 'P' }, idempotencyKey: 'fresh' }),
        post({ type: 'KycUpdate', payload: { personId: 'other', kycStatus: 'P' }, idempotencyKey: 'taken' }),
        post({ type: 'KycUpdate', payload: { personId: 'first', kycStatus: 'P' }, idempotencyKey: 'taken' }),
        h.api('POST', '/v1/tenants/idem-group/events/batch', {
          events: [
            { type: 'KycUpdate', payload: { personId: 'b1', kycStatus: 'P' }, idempotencyKey: 'b1' },
            { type: 'KycUpdate', payload: { personId: 'b2', kycStatus: 'P' }, idempotencyKey: 'taken' },
          ],
        }),
        ...Array.from({ length: 5 }, (_, i) => post({ type: 'KycUpdate', payload: { personId: `n${i}`, kycStatus: 'P' } })),
      ]);
      assert.equal(fresh.status, 202);
      assert.equal(reusedKey.status, 409);
      assert.match(reusedKey.body.error.message, new RegExp(`already used for event ${taken.body.id}`));
      assert.equal(sameAgain.status, 202);
      assert.equal(sameAgain.body.id, taken.body.id, 'the same request answers the event it made');
      assert.equal(batch.status, 409);
      for (const r of more) assert.equal(r.status, 202);

      const stored = (await h.api('GET', '/v1/tenants/idem-group/events?limit=250')).body.data as { id: string }[];
      assert.deepEqual(
        new Set(stored.map((e) => e.id)),
        new Set([taken.body.id, fresh.body.id, ...more.map((r) => r.body.id)]),
        'the refused requests, the batch included, stored nothing',
      );
      for (const e of stored) {
        const event = (await h.api('GET', `/v1/tenants/idem-group/events/${e.id}`)).body;
        assert.equal(event.deliveries.length, 1, `event ${e.id} has its one delivery`);
      }
      const counted = await h.herald.db.one<{ n: number | string }>(
        'SELECT SUM(accepted) AS n FROM delivery_rollups WHERE tenant_id = $1',
        [t.body.id],
      );
      assert.equal(Number(counted!.n), stored.length, 'the report counts each stored event once');
    });

    it('refuses a reused key in a batch written in several transactions before storing any of it', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Idem big', uid: 'idem-big' });
      for (let i = 0; i < 25; i++) await h.api('POST', '/v1/tenants/idem-big/endpoints', { url: `http://127.0.0.1:9/${i}` });
      const taken = await h.api('POST', '/v1/tenants/idem-big/events', {
        type: 'KycUpdate',
        payload: { personId: 'x', kycStatus: 'P' },
        idempotencyKey: 'taken',
      });
      assert.equal(taken.status, 202);
      // 100 events × 25 endpoints: more deliveries than one transaction writes.
      const events = Array.from({ length: 100 }, (_, i) => ({
        type: 'KycUpdate',
        payload: { personId: `b${i}`, kycStatus: 'P' },
        idempotencyKey: `big-${i}`,
      }));
      events[99] = { ...events[99], idempotencyKey: 'taken' };
      const r = await h.api('POST', '/v1/tenants/idem-big/events/batch', { events });
      assert.equal(r.status, 409);
      assert.equal((await h.api('GET', '/v1/tenants/idem-big/events?limit=250')).body.data.length, 1, 'nothing of the batch was stored');
    });

    it('answers 404 with a JSON error for unknown routes and ids', async () => {
      const r = await h.api('GET', '/v1/nothing');
      assert.equal(r.status, 404);
      assert.equal(r.body.error.code, 'not_found');
      assert.equal((await h.api('GET', '/v1/tenants/ev-t/events/evt_missing')).status, 404);
      assert.equal((await h.api('GET', '/v1/tenants/ev-t/deliveries/dlv_missing/attempts')).status, 404);
      assert.equal((await h.api('POST', '/v1/tenants/ev-t/deliveries/dlv_missing/resend')).status, 404);
    });
  });
}
