import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { applyRetention } from '../src/maintenance/retention.js';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

for (const dialect of DIALECTS) {
  describe(`replay and retention (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      // The circuit breaker would hold back a failing endpoint; this is about recovery, so it is off.
      h = await startHerald(dialect, {
        HERALD_RETRY_SCHEDULE: '0.1',
        HERALD_MAINTENANCE_INTERVAL_MS: '100',
        HERALD_CIRCUIT_THRESHOLD: '100000',
      });
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it('resends in the background everything that failed for an endpoint, with visible progress', async () => {
      let down = true;
      rx.respond = () => ({ status: down ? 500 : 200 });
      await h.api('POST', '/v1/tenants', { name: 'rec', uid: 'rec' });
      const ep = (await h.api('POST', '/v1/tenants/rec/endpoints', { url: `${rx.url}/rec` })).body;
      const since = new Date(Date.now() - 1000).toISOString();
      await h.api('POST', '/v1/tenants/rec/events/batch', {
        events: Array.from({ length: 30 }, (_, i) => ({ type: 'thing.happened', payload: { i } })),
      });
      await eventually(
        async () => (await h.api('GET', '/v1/tenants/rec/events?status=F&limit=250')).body.data.length === 30,
        8000,
        '30 failed events',
      );
      const triedWhileDown = rx.received.length;

      down = false;
      const started = await h.api('POST', `/v1/tenants/rec/endpoints/${ep.id}/recover`, { since });
      assert.equal(started.status, 202);
      assert.equal(started.body.total, 30);
      const done = await eventually(
        async () => {
          const r = (await h.api('GET', `/v1/tenants/rec/recoveries/${started.body.id}`)).body;
          return r.status === 'done' && r;
        },
        8000,
        'the recovery to finish',
      );
      assert.equal(done.done, 30);
      await eventually(
        async () => (await h.api('GET', '/v1/tenants/rec/events?status=S&limit=250')).body.data.length === 30,
        8000,
        'all 30 delivered',
      );
      assert.equal(rx.received.length - triedWhileDown, 30, 'each failed delivery sent once more');

      const empty = await h.api('POST', `/v1/tenants/rec/endpoints/${ep.id}/recover`, {
        since,
        until: new Date(Date.parse(since) + 1).toISOString(),
      });
      assert.equal(empty.body.total, 0);
      assert.equal(empty.body.status, 'done');
      assert.equal(
        (
          await h.api('POST', `/v1/tenants/rec/endpoints/${ep.id}/recover`, {
            since: '2030-01-01T00:00:00Z',
            until: '2020-01-01T00:00:00Z',
          })
        ).status,
        400,
      );
    });

    it('also sends now what waits for a later retry, and says how many of each', async () => {
      let down = true;
      // Some events fail for good (500, then the one retry); the others are told to come back in an hour.
      rx.respond = (r) => {
        if (r.path !== '/later') return { status: 200 };
        if (!down) return { status: 200 };
        return JSON.parse(r.body).data.fail ? { status: 500 } : { status: 503, headers: { 'retry-after': '3600' } };
      };
      await h.api('POST', '/v1/tenants', { name: 'wait', uid: 'wait' });
      const ep = (await h.api('POST', '/v1/tenants/wait/endpoints', { url: `${rx.url}/later` })).body;
      const since = new Date(Date.now() - 1000).toISOString();
      const events = [
        ...Array.from({ length: 3 }, (_, i) => ({ type: 'thing.happened', payload: { i, fail: true } })),
        ...Array.from({ length: 5 }, (_, i) => ({ type: 'thing.happened', payload: { i } })),
      ];
      const ids = (await h.api('POST', '/v1/tenants/wait/events/batch', { events })).body.data.map((e: any) => e.id);
      const later = () => rx.received.filter((r) => r.path === '/later').length;
      await eventually(
        async () => (await h.api('GET', '/v1/tenants/wait/events?status=F')).body.data.length === 3 && later() === 3 * 2 + 5,
        8000,
        '3 failed, 5 waiting',
      );
      const waiting = (await h.api('GET', `/v1/tenants/wait/events/${ids[3]}`)).body.deliveries[0];
      assert.equal(waiting.status, 'I');
      assert.ok(Date.parse(waiting.nextAttemptAt) > Date.now() + 3000_000, `the retry is an hour away (${waiting.nextAttemptAt})`);
      const triedWhileDown = later();

      down = false;
      const started = await h.api('POST', `/v1/tenants/wait/endpoints/${ep.id}/recover`, { since });
      assert.equal(started.status, 202);
      assert.deepEqual([started.body.total, started.body.failed, started.body.waiting], [8, 3, 5]);
      for (const id of ids) {
        await eventually(
          async () => (await h.api('GET', `/v1/tenants/wait/events/${id}`)).body.status === 'S',
          8000,
          `event ${id} delivered`,
        );
      }
      assert.equal(later() - triedWhileDown, 8, 'each sent once more, the waiting ones without waiting the hour');
      const done = await eventually(
        async () => {
          const r = (await h.api('GET', `/v1/tenants/wait/recoveries/${started.body.id}`)).body;
          return r.status === 'done' && r;
        },
        8000,
        'the recovery to finish',
      );
      assert.deepEqual([done.done, done.failed, done.waiting], [8, 3, 5]);
      const first = (await h.api('GET', `/v1/tenants/wait/events/${ids[3]}`)).body.deliveries[0];
      assert.equal(first.attempts, 2, 'a waiting delivery keeps its count (and schedule)');
    });

    it('purges old payloads and deletes old attempts in bounded batches, never touching events in progress', async () => {
      rx.respond = (r) => (r.path === '/slow' ? { status: 200, delayMs: 3000 } : { status: 200 });
      await h.api('POST', '/v1/tenants', { name: 'busy', uid: 'busy' });
      await h.api('POST', '/v1/tenants/busy/endpoints', { url: `${rx.url}/slow` });
      const inProgress = (await h.api('POST', '/v1/tenants/busy/events', { type: 'thing.happened', payload: { keep: 'me' } })).body;
      await h.api('POST', '/v1/tenants', { name: 'ret', uid: 'ret' });
      await h.api('POST', '/v1/tenants/ret/endpoints', { url: `${rx.url}/ret` });
      const ev = (await h.api('POST', '/v1/tenants/ret/events', { type: 'thing.happened', payload: { secret: 'old' } })).body;
      await eventually(async () => (await h.api('GET', `/v1/tenants/ret/events/${ev.id}`)).body.status === 'S', 5000, 'delivered');
      // Received webhooks: one processed, one held as unmatched (still needed: it keeps its body).
      const token = (await h.api('POST', '/v1/tenants/ret/sources', { provider: 'token', name: 't', secret: 'tok' })).body;
      const receive = async (body: string) =>
        (
          (await (
            await fetch(`${h.url}/in/${token.id}`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-webhook-token': 'tok' },
              body,
            })
          ).json()) as { id: string }
        ).id;
      const done = await receive('{"type":"old.news"}');
      const chargify = (await h.api('POST', '/v1/tenants/ret/sources', { provider: 'chargify', name: 'c', secret: 'k' })).body;
      const form =
        'id=1&event=payment_success&payload[subscription][customer][reference]=nobody&payload[transaction][id]=1&payload[transaction][amount_in_cents]=5';
      const held = (
        (await (
          await fetch(`${h.url}/in/${chargify.id}`, {
            method: 'POST',
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'x-chargify-webhook-signature-hmac-sha-256': createHmac('sha256', 'k').update(form).digest('hex'),
            },
            body: form,
          })
        ).json()) as { id: string }
      ).id;
      const inbound = (id: string) => h.api('GET', `/v1/tenants/ret/inbound/${id}`).then((r) => r.body);
      await eventually(
        async () => (await inbound(done)).status === 'processed' && (await inbound(held)).status === 'unmatched',
        5000,
        'inbound processed',
      );

      const farFuture = Date.now() + 100 * 86_400_000;
      let purged = 0;
      let deleted = 0;
      for (;;) {
        const r = await applyRetention(h.herald.db, { payloadDays: 30, attemptDays: 30, batch: 7, now: farFuture });
        assert.ok(r.payloadsPurged <= 7 && r.attemptsDeleted <= 7, 'each step is bounded by the batch size');
        purged += r.payloadsPurged;
        deleted += r.attemptsDeleted;
        if (r.payloadsPurged === 0 && r.attemptsDeleted === 0 && r.inboundPurged === 0) break;
      }
      assert.ok(purged > 0 && deleted > 0);
      const read = (await h.api('GET', `/v1/tenants/ret/events/${ev.id}`)).body;
      assert.equal(read.payload, null);
      assert.ok(read.payloadPurgedAt);
      assert.equal(read.deliveries.length, 1, 'the delivery record stays');
      const attempts = (await h.api('GET', `/v1/tenants/ret/deliveries/${read.deliveries[0].id}/attempts`)).body.data;
      assert.deepEqual(attempts, []);
      const busy = (await h.api('GET', `/v1/tenants/busy/events/${inProgress.id}`)).body;
      assert.equal(busy.status, 'I');
      assert.deepEqual(busy.payload, { keep: 'me' }, 'an event in progress keeps its payload');
      const purgedMsg = await inbound(done);
      assert.deepEqual([purgedMsg.status, purgedMsg.body, purgedMsg.headers], ['processed', '', {}]);
      assert.ok(purgedMsg.bodyPurgedAt);
      const heldMsg = await inbound(held);
      assert.equal(heldMsg.body, form, 'an unmatched message keeps its body until it is applied');
      assert.equal(heldMsg.bodyPurgedAt, null);
    });
  });
}
