import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// One tenant's slow backlog must not hold up the others. A small worker (10 at once, so 8 per
// tenant) makes the queueing easy to see: before tenants had a share, the first tenant's 80
// deliveries took every slot and the second tenant's event waited behind nearly all of them.
for (const dialect of DIALECTS) {
  describe(`fair scheduling (${dialect})`, () => {
    let h: TestHerald;
    let slow: Receiver;
    let fast: Receiver;
    before(async () => {
      h = await startHerald(dialect, { HERALD_WORKER_CONCURRENCY: '10', HERALD_ENDPOINT_CONCURRENCY: '10', HERALD_DELIVERY_TIMEOUT: '5' });
      // Separate servers: undici pools connections per origin, and this is about Herald's slots.
      slow = await new Receiver(() => ({ status: 200, delayMs: 300 })).start();
      fast = await new Receiver().start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
    });
    after(async () => {
      await h.close();
      await slow.stop();
      await fast.stop();
    });

    const openAt = (rx: Receiver, prefix: string) => [...rx.open].filter(([p]) => p.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);

    it('sends a tenant’s event while another tenant’s slow backlog drains, and never gives one tenant the whole worker', async () => {
      await h.api('POST', '/v1/tenants', { name: 'A', uid: 'big' });
      for (let i = 0; i < 4; i++) await h.api('POST', '/v1/tenants/big/endpoints', { url: `${slow.url}/big/${i}` });
      await h.api('POST', '/v1/tenants', { name: 'B', uid: 'small' });
      await h.api('POST', '/v1/tenants/small/endpoints', { url: `${fast.url}/small` });

      let peak = 0;
      const sample = setInterval(() => (peak = Math.max(peak, openAt(slow, '/big/'))), 5);
      try {
        const a = await h.api('POST', '/v1/tenants/big/events/batch', {
          events: Array.from({ length: 20 }, (_, i) => ({ type: 'thing.happened', payload: { i } })),
        });
        assert.equal(a.status, 202);
        // A's backlog is being sent: its requests are open at the slow receiver.
        await slow.waitFor(() => openAt(slow, '/big/') >= 4, 10_000, 'A’s first requests');
        const b = await h.api('POST', '/v1/tenants/small/events', { type: 'thing.happened', payload: { b: true } });
        await fast.waitFor((r) => r.length === 1, 10_000, 'B’s delivery');
        const aDoneWhenBArrived = slow.received.length;
        assert.equal(fast.received[0].headers['webhook-id'], b.body.id);
        assert.ok(aDoneWhenBArrived <= 40, `B arrived while A still had most of its 80 deliveries to go (A had ${aDoneWhenBArrived} sent)`);
        await slow.waitFor((r) => r.length === 80, 30_000, 'all of A’s deliveries');
      } finally {
        clearInterval(sample);
      }
      // Four fifths of the worker's 10 slots: two stay free for other tenants.
      assert.ok(peak <= 8, `A never held more than its share of the worker (peak ${peak} open)`);
      await eventually(
        async () => (await h.api('GET', '/v1/tenants/big/events?status=I&limit=1')).body.data.length === 0,
        10_000,
        'A’s events to finish',
      );
    });

    it('does not let one slow endpoint shut its tenant’s other endpoints out', async () => {
      await h.api('POST', '/v1/tenants', { name: 'C', uid: 'mixed' });
      await h.api('POST', '/v1/tenants/mixed/endpoints', { url: `${slow.url}/mixed-slow`, eventTypes: ['thing.happened'] });
      await h.api('POST', '/v1/event-types', { name: 'other.thing' });
      await h.api('POST', '/v1/tenants/mixed/endpoints', { url: `${fast.url}/mixed-fast`, eventTypes: ['other.thing'] });
      await h.api('POST', '/v1/tenants/mixed/events/batch', {
        events: Array.from({ length: 40 }, (_, i) => ({ type: 'thing.happened', payload: { i } })),
      });
      await slow.waitFor(() => openAt(slow, '/mixed-slow') >= 4, 10_000, 'the slow endpoint’s first requests');
      await h.api('POST', '/v1/tenants/mixed/events/batch', {
        events: Array.from({ length: 5 }, (_, i) => ({ type: 'other.thing', payload: { i } })),
      });
      await fast.waitFor((r) => r.filter((x) => x.path === '/mixed-fast').length === 5, 10_000, 'the fast endpoint’s 5 deliveries');
      const slowDone = slow.received.filter((x) => x.path === '/mixed-slow').length;
      assert.ok(slowDone <= 30, `the fast endpoint was served while the slow one still had a backlog (${slowDone} of 40 sent)`);
      assert.ok(
        (slow.peakOpen.get('/mixed-slow') ?? 0) <= 6,
        `the slow endpoint kept within four fifths of its tenant's share (peak ${slow.peakOpen.get('/mixed-slow')})`,
      );
      await slow.waitFor((r) => r.filter((x) => x.path === '/mixed-slow').length === 40, 30_000, 'the slow backlog');
    });
  });
}

// A claim cut short by a tenant's share must lead to the next claim as soon as the tenant has room,
// not at the next poll. Slots the tenant freed while the claim ran left it below its share after
// it, so it was never marked capped, no freed slot woke the worker, and what the share had held
// back waited for the poll: a fan-out to 100 endpoints ran ten times slower on SQLite. Here the
// poll is a minute away, so any such wait fails the test.
for (const dialect of DIALECTS) {
  describe(`a claim stopped at a tenant's share (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      h = await startHerald(dialect, { HERALD_WORKER_CONCURRENCY: '10', HERALD_POLL_INTERVAL_MS: '60000' });
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it('claims again when the tenant has room, however the claim and the sends interleave', async () => {
      await h.api('POST', '/v1/tenants', { name: 'Fan', uid: 'fan' });
      for (let i = 0; i < 10; i++) await h.api('POST', '/v1/tenants/fan/endpoints', { url: `${rx.url}/fan/${i}` });
      // Each batch is 500 deliveries: too many to hand over, so they are written due and claimed.
      for (let b = 0; b < 4; b++) {
        const r = await h.api('POST', '/v1/tenants/fan/events/batch', {
          events: Array.from({ length: 50 }, (_, i) => ({ type: 'thing.happened', payload: { b, i } })),
        });
        assert.equal(r.status, 202);
      }
      await rx.waitFor((r) => r.length === 2000, 20_000, 'all 2,000 deliveries, well before the next poll');
    });
  });
}
