import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

for (const dialect of DIALECTS) {
  describe(`endpoint health (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    const ops = () => rx.received.filter((r) => r.path === '/ops').map((r) => JSON.parse(r.body));
    before(async () => {
      rx = await new Receiver().start();
      h = await startHerald(dialect, {
        HERALD_RETRY_SCHEDULE: '0.1,0.1',
        HERALD_CIRCUIT_THRESHOLD: '100',
        HERALD_DISABLE_AFTER: '1',
        HERALD_OPERATOR_WEBHOOK_URL: `${rx.url}/ops`,
      });
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
      await h.api('POST', '/v1/tenants', { name: 'health', uid: 'health' });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it('disables an endpoint that answers 410 Gone, says why and since when, and tells the operator', async () => {
      rx.respond = (r) => (r.path === '/gone' ? { status: 410 } : { status: 200 });
      const ep = (await h.api('POST', '/v1/tenants/health/endpoints', { url: `${rx.url}/gone` })).body;
      assert.deepEqual([ep.disabledReason, ep.disabledAt], [null, null]);
      const before = Date.now();
      const sent = (await h.api('POST', '/v1/tenants/health/events', { type: 'thing.happened', payload: {} })).body;
      const disabled = await eventually(
        async () => {
          const e = (await h.api('GET', `/v1/tenants/health/endpoints/${ep.id}`)).body;
          return e.enabled === false && e;
        },
        5000,
        'the endpoint to be disabled',
      );
      assert.equal(disabled.disabledReason, '410 Gone from the endpoint');
      assert.ok(Date.parse(disabled.disabledAt) >= before - 1000, `disabledAt is the time of the 410 (${disabled.disabledAt})`);
      await rx.waitFor(() => ops().some((e) => e.type === 'endpoint.disabled' && e.data.endpointId === ep.id), 5000, 'endpoint.disabled');
      assert.match(ops().find((e) => e.type === 'endpoint.disabled').data.reason, /410/);
      // The delivery failed on the 410 itself, and says so.
      const ev = await eventually(
        async () => {
          const e = (await h.api('GET', `/v1/tenants/health/events/${sent.id}`)).body;
          return e.status === 'F' && e;
        },
        5000,
        'the event to fail',
      );
      assert.deepEqual([ev.deliveries[0].status, ev.deliveries[0].attempts, ev.deliveries[0].lastStatusCode], ['F', 1, 410]);
      // Re-enabling starts afresh.
      rx.respond = () => ({ status: 200 });
      const enabled = (await h.api('PATCH', `/v1/tenants/health/endpoints/${ep.id}`, { enabled: true })).body;
      assert.deepEqual([enabled.enabled, enabled.disabledReason, enabled.disabledAt], [true, null, null]);
      // Disabled by hand: that is the reason, from that moment.
      const off = (await h.api('PATCH', `/v1/tenants/health/endpoints/${ep.id}`, { enabled: false })).body;
      assert.equal(off.disabledReason, 'disabled by PATCH');
      assert.equal(off.disabledAt, off.updatedAt);
      assert.equal(
        (await h.api('PATCH', `/v1/tenants/health/endpoints/${ep.id}`, { description: 'still off' })).body.disabledAt,
        off.disabledAt,
        'another PATCH keeps the time',
      );
      const created = (await h.api('POST', '/v1/tenants/health/endpoints', { url: `${rx.url}/off`, enabled: false })).body;
      assert.equal(created.disabledReason, 'created disabled');
      assert.equal(created.disabledAt, created.createdAt);
    });

    it('disables an endpoint failing for longer than HERALD_DISABLE_AFTER, and reports exhausted deliveries', async () => {
      rx.respond = (r) => (r.path === '/broken' ? { status: 500 } : { status: 200 });
      const ep = (await h.api('POST', '/v1/tenants/health/endpoints', { url: `${rx.url}/broken`, eventTypes: ['thing.happened'] })).body;
      const first = (await h.api('POST', '/v1/tenants/health/events', { type: 'thing.happened', payload: { n: 1 } })).body;
      await rx.waitFor(() => ops().some((e) => e.type === 'delivery.exhausted' && e.data.eventId === first.id), 5000, 'delivery.exhausted');
      const exhausted = ops().find((e) => e.type === 'delivery.exhausted' && e.data.eventId === first.id);
      assert.equal(exhausted.data.attempts, 3);
      assert.equal(exhausted.data.lastStatusCode, 500);
      await new Promise((r) => setTimeout(r, 1100));
      await h.api('POST', '/v1/tenants/health/events', { type: 'thing.happened', payload: { n: 2 } });
      await eventually(
        async () => (await h.api('GET', `/v1/tenants/health/endpoints/${ep.id}`)).body.enabled === false,
        5000,
        'the endpoint to be disabled',
      );
      await rx.waitFor(() => ops().some((e) => e.type === 'endpoint.disabled' && e.data.endpointId === ep.id), 5000, 'endpoint.disabled');
      assert.match(ops().find((e) => e.type === 'endpoint.disabled' && e.data.endpointId === ep.id).data.reason, /failing since/);
      const read = (await h.api('GET', `/v1/tenants/health/endpoints/${ep.id}`)).body;
      assert.match(read.disabledReason, /^failing since \d{4}-.*Z without a success for more than 1s \(HERALD_DISABLE_AFTER\)$/);
      assert.ok(read.disabledAt);
    });

    it('keeps the operational events readable through the API under the operator tenant', async () => {
      const events = (await h.api('GET', '/v1/tenants/_operator/events?limit=250')).body.data;
      assert.ok(events.some((e: any) => e.type === 'endpoint.disabled'));
    });
  });
}
