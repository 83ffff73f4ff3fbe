import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

for (const dialect of DIALECTS) {
  describe(`endpoint isolation and ordering (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      // A small worker (20 at once, 4 per endpoint) makes starvation easy to see if it happened.
      h = await startHerald(dialect, {
        HERALD_WORKER_CONCURRENCY: '20',
        HERALD_ENDPOINT_CONCURRENCY: '4',
        HERALD_DELIVERY_TIMEOUT: '2',
        HERALD_RETRY_SCHEDULE: '0.3,0.3,0.3',
      });
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it('delivers everything to a healthy endpoint while another one hangs for the whole timeout', async () => {
      rx.respond = (r) => (r.path === '/hang' ? { status: 200, delayMs: 5000 } : { status: 200 });
      await h.api('POST', '/v1/tenants', { name: 'iso', uid: 'iso' });
      await h.api('POST', '/v1/tenants/iso/endpoints', { url: `${rx.url}/hang` });
      await h.api('POST', '/v1/tenants/iso/endpoints', { url: `${rx.url}/ok` });
      const events = Array.from({ length: 100 }, (_, i) => ({ type: 'thing.happened', payload: { i } }));
      const started = Date.now();
      const sent = await h.api('POST', '/v1/tenants/iso/events/batch', { events });
      assert.equal(sent.status, 202);
      await rx.waitFor((r) => r.filter((x) => x.path === '/ok').length === 100, 5000, '100 healthy deliveries');
      const took = Date.now() - started;
      const hung = rx.received.filter((x) => x.path === '/hang').length;
      assert.ok(hung < 100, `the hanging endpoint is still stuck (${hung} of 100 tried)`);
      assert.ok(rx.peakOpen.get('/hang')! <= 4, `at most 4 in flight to the hanging endpoint, saw ${rx.peakOpen.get('/hang')}`);
      console.log(`# ${dialect}: 100 healthy deliveries in ${took} ms beside a hanging endpoint (${hung} hanging attempts so far)`);
    });

    it('holds an endpoint to its rate limit', async () => {
      rx.respond = () => ({ status: 200 });
      await h.api('POST', '/v1/tenants', { name: 'rate', uid: 'rate' });
      const ep = await h.api('POST', '/v1/tenants/rate/endpoints', { url: `${rx.url}/rate`, rateLimit: 5 });
      assert.equal(ep.body.rateLimit, 5);
      await h.api('POST', '/v1/tenants/rate/events/batch', {
        events: Array.from({ length: 15 }, (_, i) => ({ type: 'thing.happened', payload: { i } })),
      });
      await rx.waitFor((r) => r.filter((x) => x.path === '/rate').length === 15, 10_000, '15 rate-limited deliveries');
      const at = rx.received.filter((x) => x.path === '/rate').map((x) => x.at);
      const span = at[at.length - 1] - at[0];
      // A burst of 5, then 10 more at 5 per second: about two seconds.
      assert.ok(span >= 1500, `15 deliveries at 5/s took ${span} ms`);
    });

    it('delivers in event order to an ordered endpoint, through retries', async () => {
      let failures = 0;
      rx.respond = (r) => {
        if (r.path !== '/ordered') return { status: 200 };
        const body = JSON.parse(r.body);
        if (body.data.i === 0 && failures < 2) {
          failures++;
          return { status: 500 };
        }
        return { status: 200, delayMs: 20 };
      };
      await h.api('POST', '/v1/tenants', { name: 'ord', uid: 'ord' });
      const ep = await h.api('POST', '/v1/tenants/ord/endpoints', { url: `${rx.url}/ordered`, ordered: true });
      assert.equal(ep.body.ordered, true);
      for (let i = 0; i < 6; i++) await h.api('POST', '/v1/tenants/ord/events', { type: 'thing.happened', payload: { i } });
      await rx.waitFor((r) => r.filter((x) => x.path === '/ordered').length === 8, 10_000, '6 events + 2 retries');
      const seq = rx.received.filter((x) => x.path === '/ordered').map((x) => JSON.parse(x.body).data.i);
      assert.deepEqual(seq, [0, 0, 0, 1, 2, 3, 4, 5]);
      const events = (await h.api('GET', '/v1/tenants/ord/events?limit=10')).body.data;
      await eventually(async () => (await h.api('GET', '/v1/tenants/ord/events?status=I')).body.data.length === 0, 5000, 'all done');
      assert.equal(events.length, 6);
    });
  });
}
