import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type AttemptOutcome, recordAttempts } from '../src/delivery/sql/recordAttempts.js';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// Rows deleted while their requests are in flight: what was answered is recorded for what still
// exists, and nothing else in the same batch is lost.
for (const dialect of DIALECTS) {
  describe(`rows that vanish while their requests are in flight (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      // A short lease: had an outcome been lost, the delivery would be sent again within seconds.
      h = await startHerald(dialect, { HERALD_LEASE_SECONDS: '6', HERALD_DELIVERY_TIMEOUT: '3', HERALD_RETRY_SCHEDULE: '0.2' });
      rx = await new Receiver(() => ({ status: 200, delayMs: 800 })).start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });
    const at = (path: string) => rx.received.filter((r) => r.path === path);

    it('deleting a tenant with deliveries in flight costs the other tenants nothing', async () => {
      for (const uid of ['doomed', 'kept']) {
        await h.api('POST', '/v1/tenants', { name: uid, uid });
        await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${rx.url}/${uid}` });
      }
      // Every answer at one instant, after the tenant is gone: the outcomes of both tenants are
      // then recorded in the same batch, the batch one vanished row used to roll back.
      let releaseAt = 0;
      rx.respond = (r) => {
        if (r.path !== '/doomed' && r.path !== '/kept') return { status: 200, delayMs: 800 };
        releaseAt ||= Date.now() + 2000;
        return { status: 200, delayMs: Math.max(0, releaseAt - Date.now()) };
      };
      const kept: string[] = [];
      for (let i = 0; i < 10; i++) {
        await h.api('POST', '/v1/tenants/doomed/events', { type: 'thing.happened', payload: { i } });
        kept.push((await h.api('POST', '/v1/tenants/kept/events', { type: 'thing.happened', payload: { i } })).body.id);
      }
      await rx.waitFor(() => at('/doomed').length === 10 && at('/kept').length === 10, 10_000, 'all 20 requests in flight');
      assert.equal((await h.api('DELETE', '/v1/tenants/doomed')).status, 204);
      assert.ok(Date.now() < releaseAt, 'the tenant was deleted before the answers came');
      for (const id of kept) {
        await eventually(
          async () => (await h.api('GET', `/v1/tenants/kept/events/${id}`)).body.status === 'S',
          15_000,
          `event ${id} delivered`,
        );
      }
      const ids = at('/kept').map((r) => r.headers['webhook-id']);
      assert.equal(ids.length, 10, `each of the other tenant's deliveries was sent once (${ids.length} requests for 10)`);
      assert.deepEqual(new Set(ids), new Set(kept));
    });

    it('records a 200 answered after the endpoint was deleted as a success', async () => {
      await h.api('POST', '/v1/tenants', { name: 'late', uid: 'late' });
      const ep = (await h.api('POST', '/v1/tenants/late/endpoints', { url: `${rx.url}/late` })).body;
      const sent = (await h.api('POST', '/v1/tenants/late/events', { type: 'thing.happened', payload: {} })).body;
      await rx.waitFor(() => at('/late').length === 1, 10_000, 'the request in flight');
      assert.equal((await h.api('DELETE', `/v1/tenants/late/endpoints/${ep.id}`)).status, 204);
      const ev = await eventually(
        async () => {
          const e = (await h.api('GET', `/v1/tenants/late/events/${sent.id}`)).body;
          return e.status === 'S' && e;
        },
        10_000,
        'the event to be S',
      );
      assert.deepEqual([ev.deliveries[0].status, ev.deliveries[0].attempts, ev.deliveries[0].lastStatusCode], ['S', 1, 200]);
      const attempts = (await h.api('GET', `/v1/tenants/late/deliveries/${ev.deliveries[0].id}/attempts`)).body.data;
      assert.deepEqual(
        attempts.map((a: any) => a.statusCode),
        [200],
      );
    });

    it('writes the rest of a batch when one outcome cannot be written', async () => {
      await h.api('POST', '/v1/tenants', { name: 'batch', uid: 'batch' });
      await h.api('POST', '/v1/tenants/batch/endpoints', { url: `${rx.url}/batch` });
      const events = (
        await h.api('POST', '/v1/tenants/batch/events/batch', {
          events: [
            { type: 'thing.happened', payload: {} },
            { type: 'thing.happened', payload: {} },
          ],
        })
      ).body.data;
      const deliveries = await Promise.all(
        events.map((e: any) =>
          eventually(
            async () => {
              const ev = (await h.api('GET', `/v1/tenants/batch/events/${e.id}`)).body;
              return ev.status === 'S' && ev.deliveries[0];
            },
            10_000,
            'delivered',
          ),
        ),
      );
      const outcome = (d: any, attempt: number | null): AttemptOutcome => ({
        deliveryId: d.id,
        eventId: 'evt_x',
        endpointId: d.endpointId,
        owner: null,
        // Not held: what the rollups need of these is read from the database, not taken from here.
        tenantId: 'unused',
        eventType: 'unused',
        eventCreatedAt: 0,
        leaseToken: 'a-lease-nobody-holds',
        attempt: attempt as number,
        startedAt: Date.now(),
        durationMs: 3,
        statusCode: 200,
        error: null,
        responseBody: 'ok',
        next: { status: 'S' },
        attempted: true,
      });
      // The middle one has no attempt number (NOT NULL): the batch fails, the other two are written alone.
      const vanished = { ...outcome(deliveries[0], 2), deliveryId: 'dlv_that_does_not_exist' };
      const r = await recordAttempts(h.herald.db, [
        outcome(deliveries[0], 2),
        outcome(deliveries[1], null),
        outcome(deliveries[1], 2),
        vanished,
      ]);
      assert.deepEqual(
        r.unrecorded.map((u) => u.outcome.attempt),
        [null],
      );
      for (const d of deliveries) {
        const attempts = (await h.api('GET', `/v1/tenants/batch/deliveries/${d.id}/attempts`)).body.data;
        assert.deepEqual(
          attempts.map((a: any) => a.attempt),
          [2, 1],
        );
      }
    });
  });
}
