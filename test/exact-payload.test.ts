import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { startHerald, type TestHerald } from './helpers/herald.js';
import { type Received, Receiver } from './helpers/receiver.js';

// A webhook platform delivers what it was given: the payload's text as posted, not what
// JSON.parse and JSON.stringify make of it. Each of these changed on the way through before.
const PAYLOADS = [
  '12345678901234567890', // beyond 2^64: became 12345678901234567000
  '9007199254740993', // 2^53 + 1: became 9007199254740992
  '1e400', // beyond a double: became null
  '1.50', // became 1.5
  '{"amount":1600.0,"currency":"USD"}', // Productfy's amounts: became 1600
  '{ "nested" : [ 1.0, -0.0, 1E2, "caf\\u00e9", "\u00e9" ],\n  "deep": {"x": 0.1e-7} }', // whitespace and escapes kept as sent
];

/** Standard Webhooks: base64 HMAC-SHA256 over "<id>.<timestamp>.<body>" with the secret's key bytes. */
function verify(r: Received, secret: string): boolean {
  const mac = createHmac('sha256', Buffer.from(secret.slice('whsec_'.length), 'base64'))
    .update(`${r.headers['webhook-id']}.${r.headers['webhook-timestamp']}.`)
    .update(Buffer.from(r.body, 'utf8'))
    .digest('base64');
  return String(r.headers['webhook-signature']).split(' ').includes(`v1,${mac}`);
}

for (const dialect of DIALECTS) {
  describe(`payloads arrive byte for byte (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    const secrets: Record<string, string> = {};
    before(async () => {
      h = await startHerald(dialect);
      rx = await new Receiver().start();
      assert.equal((await h.api('POST', '/v1/event-types', { name: 'exact.thing' })).status, 201);
      assert.equal((await h.api('POST', '/v1/tenants', { name: 'Exact', uid: 'exact' })).status, 201);
      for (const format of ['standard', 'productfy']) {
        const e = await h.api('POST', '/v1/tenants/exact/endpoints', { url: `${rx.url}/${format}`, format });
        assert.equal(e.status, 201);
        secrets[format] = e.body.secret;
      }
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    /** The text between `"<field>":` and the envelope's next field in each format. */
    const carried = (r: Received) =>
      r.path === '/standard'
        ? r.body.slice(r.body.indexOf('"data":') + 7, -1)
        : r.body.slice(r.body.indexOf('"eventPayload":') + 15, r.body.lastIndexOf(',"triggeringEventTs":'));

    it('sends each payload as the exact text posted, signed over the exact bytes, one event at a time and in a batch', async () => {
      const ids = new Map<string, string>();
      for (const p of PAYLOADS) {
        const r = await h.api('POST', '/v1/tenants/exact/events', `{"type":"exact.thing","payload":${p}}`);
        assert.equal(r.status, 202, JSON.stringify(r.body));
        ids.set(r.body.id, p);
      }
      const batch = await h.api(
        'POST',
        '/v1/tenants/exact/events/batch',
        `{"events":[${PAYLOADS.map((p) => `{"payload":${p} ,"type":"exact.thing"}`).join(',')}]}`,
      );
      assert.equal(batch.status, 202, JSON.stringify(batch.body));
      batch.body.data.forEach((e: { id: string }, i: number) => ids.set(e.id, PAYLOADS[i]));

      await rx.waitForCount(ids.size * 2);
      for (const r of rx.received) {
        const sent = ids.get(String(r.headers['webhook-id']))!;
        assert.equal(carried(r), sent, `${r.path} carries the payload as sent`);
        assert.ok(verify(r, secrets[r.path.slice(1)]), `${r.path}: the signature covers the exact bytes received`);
        JSON.parse(r.body); // and the envelope around it is JSON
      }

      // Read back as stored: the answer's text holds the payload's text.
      for (const [id, p] of ids) {
        const res = await fetch(`${h.url}/v1/tenants/exact/events/${id}`, { headers: { authorization: `Bearer ${h.sandboxKey}` } });
        assert.equal(res.status, 200);
        assert.ok((await res.text()).includes(`"payload":${p},`), `GET …/events/${id} answers the payload as stored`);
      }
      const list = await fetch(`${h.url}/v1/tenants/exact/events?limit=250`, { headers: { authorization: `Bearer ${h.sandboxKey}` } });
      const text = await list.text();
      for (const p of PAYLOADS) assert.ok(text.includes(`"payload":${p},`), 'the list answers payloads as stored');
      assert.equal(JSON.parse(text).data.length, ids.size);
    });

    it('refuses duplicate keys with a 400 that names the key and where it is', async () => {
      const cases: [string, string, RegExp][] = [
        ['/events', '{"type":"exact.thing","payload":{"amount":1,"amount":2}}', /duplicate key "amount" in payload\b/],
        [
          '/events',
          '{"type":"exact.thing","payload":{"customer":{"id":"a","name":"x","\\u0069d":"b"}}}',
          /duplicate key "id" in payload\.customer\b/,
        ],
        ['/events', '{"type":"exact.thing","type":"other","payload":{}}', /duplicate key "type" in the body/],
        [
          '/events/batch',
          '{"events":[{"type":"exact.thing","payload":1},{"type":"exact.thing","payload":{"a":[{"k":1,"k":1}]}}]}',
          /duplicate key "k" in events\[1\]\.payload\.a\[0\]/,
        ],
      ];
      const before = (await h.api('GET', '/v1/tenants/exact/events?limit=250')).body.data.length;
      for (const [path, body, message] of cases) {
        const r = await h.api('POST', `/v1/tenants/exact${path}`, body);
        assert.equal(r.status, 400, body);
        assert.match(r.body.error.message, message);
      }
      assert.equal((await h.api('GET', '/v1/tenants/exact/events?limit=250')).body.data.length, before, 'nothing was stored');
    });
  });
}
