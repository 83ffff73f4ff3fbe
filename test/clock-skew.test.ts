import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createHerald, type Herald } from '../src/herald.js';
import { createLogger } from '../src/log.js';
import { DIALECTS } from './helpers/db.js';
import { eventually, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

const TWO_MINUTES = 120_000;

// Leases and due times are compared across nodes. A second worker node on the same database is
// given a clock two minutes off (longer than the one-minute lease): it must follow the database's
// clock, not its own.
for (const dialect of DIALECTS) {
  describe(`nodes whose clocks are off (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    const others: Herald[] = [];
    /** Another node on the same database, with this machine's clock shifted by `skewMs` (allowed: HERALD_MAX_CLOCK_SKEW=0). */
    const node = async (skewMs: number, env: Partial<TestHerald['config']> = {}) => {
      const n = await createHerald(
        { ...h.config, roles: { api: false, worker: true }, maxClockSkewMs: 0, ...env },
        createLogger('silent'),
        {
          db: h.database.open(),
          localClock: () => Date.now() + skewMs,
        },
      );
      others.push(n);
      return n;
    };
    before(async () => {
      h = await startHerald(dialect, { HERALD_LEASE_SECONDS: '60' });
      rx = await new Receiver((r) => ({ status: 200, delayMs: r.path === '/slow' ? 1500 : 0 })).start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
      await h.api('POST', '/v1/tenants', { name: 'clock', uid: 'clock' });
    });
    after(async () => {
      for (const n of others) {
        await n.stop();
        await n.db.close();
      }
      await h.close();
      await rx.stop();
    });

    it('a node whose clock runs ahead does not take the live leases of another', async () => {
      const ahead = await node(TWO_MINUTES);
      try {
        await h.api('POST', '/v1/tenants/clock/endpoints', { url: `${rx.url}/slow`, eventTypes: ['thing.happened'] });
        const ids: string[] = [];
        for (let i = 0; i < 10; i++)
          ids.push((await h.api('POST', '/v1/tenants/clock/events', { type: 'thing.happened', payload: { i } })).body.id);
        for (const id of ids) {
          await eventually(
            async () => (await h.api('GET', `/v1/tenants/clock/events/${id}`)).body.status === 'S',
            15_000,
            `event ${id} delivered`,
          );
        }
        const sent = rx.received.filter((r) => r.path === '/slow').map((r) => r.headers['webhook-id']);
        assert.equal(sent.length, 10, `each delivery was sent once (${sent.length} requests for 10 deliveries)`);
        assert.deepEqual(new Set(sent), new Set(ids));
      } finally {
        await ahead.stop();
      }
    });

    it('a node whose clock runs behind takes what is due at once', async () => {
      // The API node's own worker is stopped: only the node running behind can send.
      await h.herald.dispatcher!.stop();
      await node(-TWO_MINUTES);
      await h.api('POST', '/v1/event-types', { name: 'other.thing' });
      await h.api('POST', '/v1/tenants/clock/endpoints', { url: `${rx.url}/behind`, eventTypes: ['other.thing'] });
      const ev = (await h.api('POST', '/v1/tenants/clock/events', { type: 'other.thing', payload: {} })).body;
      await rx.waitFor((r) => r.some((x) => x.path === '/behind'), 10_000, 'the delivery, sent by the node running behind');
      assert.equal(rx.received.find((x) => x.path === '/behind')!.headers['webhook-id'], ev.id);
    });

    it('refuses to start a node further off than HERALD_MAX_CLOCK_SKEW', async () => {
      const db = h.database.open();
      await assert.rejects(
        createHerald({ ...h.config, roles: { api: false, worker: true }, maxClockSkewMs: 30_000 }, createLogger('silent'), {
          db,
          localClock: () => Date.now() + TWO_MINUTES,
        }),
        /120\.\d s ahead of the database's.*HERALD_MAX_CLOCK_SKEW \(30 s\)/,
      );
      await db.close();
    });
  });
}
