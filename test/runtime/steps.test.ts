import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Dispatcher } from '../../src/delivery/dispatcher.js';
import { AddressPolicy } from '../../src/endpoints/urlPolicy.js';
import { InboundProcessor } from '../../src/inbound/inboundProcessor.js';
import { createLogger } from '../../src/log.js';
import { Maintenance } from '../../src/maintenance/maintenance.js';
import { resolveSecretKey, SecretBox } from '../../src/secrets/secretBox.js';
import { DIALECTS } from '../helpers/db.js';
import { eventually, sleep, startHerald, type TestHerald } from '../helpers/herald.js';
import { Receiver } from '../helpers/receiver.js';

// Each of the three loops of a worker node is one step() run by the poll loop
// (runtime/pollLoop.ts). Here the steps are called directly, one round at a time, on a Herald that
// runs only the API (so no loop of its own competes): what a round does is checked without
// waiting for a poll.

const DAY = 86_400_000;

for (const dialect of DIALECTS) {
  describe(`one round of each worker loop, called directly (${dialect})`, () => {
    let h: TestHerald;
    let box: SecretBox;
    let rx: Receiver;
    const log = createLogger('silent');
    before(async () => {
      h = await startHerald(dialect, { HERALD_ROLES: 'api' });
      box = new SecretBox(
        resolveSecretKey({
          secretKey: h.config.secretKey,
          dataDir: h.config.dataDir,
          usesPostgres: dialect === 'postgres',
          hasSealedSecrets: true,
        }).key,
        h.config.previousSecretKeys,
      );
      rx = await new Receiver().start();
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it("the inbound processor's step processes a stored message into an event, then finds nothing", async () => {
      await h.api('POST', '/v1/tenants', { name: 'In', uid: 'in' });
      const source = (await h.api('POST', '/v1/tenants/in/sources', { provider: 'token', name: 't', secret: 'tok' })).body;
      const r = await fetch(`${h.url}/in/${source.id}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-webhook-token': 'tok' },
        body: JSON.stringify({ type: 'order_paid', id: 7 }),
      });
      assert.equal(r.status, 200);
      const stored = (await h.api('GET', '/v1/tenants/in/inbound')).body.data;
      assert.deepEqual(
        stored.map((m: { status: string }) => m.status),
        ['received'],
        'stored, not processed: no loop runs',
      );

      let announced = 0;
      const processor = new InboundProcessor(h.herald.db, box, log, () => announced++, { pollIntervalMs: 60_000, leaseMs: 60_000 });
      assert.equal(await processor.step(), true, 'the round found a message');
      const [m] = (await h.api('GET', '/v1/tenants/in/inbound')).body.data;
      assert.equal(m.status, 'processed');
      assert.equal(m.eventType, 'token.order_paid');
      const event = (await h.api('GET', `/v1/tenants/in/events/${m.eventId}`)).body;
      assert.deepEqual(event.payload, { type: 'order_paid', id: 7 }, 'the forwarded event carries the body');
      assert.equal(announced, 1, 'the delivery worker was told about the new event');
      assert.equal(await processor.step(), false, 'nothing left');
      assert.equal(announced, 1);
      await processor.stop();
    });

    it('the inbound processor yields to a burst of requests (1,000/s or more on this node), not to a trickle', async () => {
      const processor = new InboundProcessor(h.herald.db, box, log, () => undefined, { pollIntervalMs: 60_000, leaseMs: 60_000 });
      for (let i = 0; i < 5; i++) processor.received();
      assert.equal(processor.busy(), false, 'five requests are a trickle');
      for (let i = 0; i < 50; i++) processor.received();
      assert.equal(processor.busy(), true, 'fifty within a few milliseconds are a burst');
      await new Promise((r) => setTimeout(r, 120));
      assert.equal(processor.busy(), false, 'a burst is over once two windows passed without one');
      await processor.stop();
    });

    it("maintenance's step applies retention by the clock it is given, then waits a minute before the next pass", async () => {
      await h.api('POST', '/v1/tenants', { name: 'Old', uid: 'old' });
      // No endpoint: the event is finished at once (N), so retention may purge its payload.
      const ev = (await h.api('POST', '/v1/tenants/old/events', { type: 'thing.happened', payload: { secret: 'keep for 30 days' } })).body;
      assert.equal(ev.status, 'N');
      const config = { ...h.config, payloadRetentionDays: 30 };
      const today = new Maintenance(h.herald.db, config, log);
      assert.equal(await today.step(), false, 'nothing is 30 days old yet');
      assert.equal((await h.api('GET', `/v1/tenants/old/events/${ev.id}`)).body.payloadPurgedAt, null);

      const later = new Maintenance(h.herald.db, config, log, { now: () => Date.now() + 31 * DAY });
      assert.equal(await later.step(), true, 'the round changed something');
      const purged = (await h.api('GET', `/v1/tenants/old/events/${ev.id}`)).body;
      assert.ok(purged.payloadPurgedAt, 'the payload was purged');
      assert.doesNotMatch(JSON.stringify(purged), /keep for 30 days/);

      const ev2 = (await h.api('POST', '/v1/tenants/old/events', { type: 'thing.happened', payload: {} })).body;
      assert.equal(await later.step(), false, 'retention runs once a minute');
      assert.equal((await h.api('GET', `/v1/tenants/old/events/${ev2.id}`)).body.payloadPurgedAt, null);
      await Promise.all([today.stop(), later.stop()]);
    });

    it("the delivery worker's step claims what is due and sends it; it answers true only for a full batch", async () => {
      await h.api('POST', '/v1/tenants', { name: 'Out', uid: 'out' });
      await h.api('POST', '/v1/tenants/out/endpoints', { url: `${rx.url}/out` });
      const ids: string[] = (
        await h.api('POST', '/v1/tenants/out/events/batch', { events: [1, 2, 3].map((n) => ({ type: 'thing.happened', payload: { n } })) })
      ).body.data.map((e: { id: string }) => e.id);
      await sleep(300);
      assert.equal(rx.received.length, 0, 'written due: no worker runs');

      // Room for two: the first round claims two of the three (a full batch, so more may be due).
      const config = { ...h.config, workerConcurrency: 2 };
      const dispatcher = new Dispatcher(h.herald.db, config, new AddressPolicy(config.allowPrivateCidrs), box, log);
      try {
        assert.equal(await dispatcher.step(), true);
        const status = async (id: string) => (await h.api('GET', `/v1/tenants/out/events/${id}`)).body.status;
        const delivered = async () => (await Promise.all(ids.map(status))).filter((s) => s === 'S').length;
        await eventually(async () => (await delivered()) === 2, 10_000, 'two delivered');
        await sleep(100); // their slots are given back once recorded
        assert.equal(await dispatcher.step(), false, 'the last one: a batch of one where two fit');
        await eventually(async () => (await delivered()) === 3, 10_000, 'all three delivered');
        assert.deepEqual(new Set(rx.received.map((r) => r.headers['webhook-id'])), new Set(ids));
        assert.equal(rx.received.length, 3, 'each sent once');
        assert.equal(await dispatcher.step(), false, 'nothing due');
      } finally {
        await dispatcher.stop();
      }
    });

    it("the inbound processor hands its events' deliveries to this node's worker, which is woken only for the rest", async () => {
      // A running worker that polls once a minute: what it sends within the test was handed to it,
      // or it was woken for it. `wake` is counted on the way through.
      const config = { ...h.config, pollIntervalMs: 60_000 };
      const dispatcher = new Dispatcher(h.herald.db, config, new AddressPolicy(config.allowPrivateCidrs), box, log);
      let woken = 0;
      const worker = {
        reserve: (n: number) => dispatcher.reserve(n),
        handOver: (token: string, deliveries: Parameters<Dispatcher['handOver']>[1]) => dispatcher.handOver(token, deliveries),
        wake: () => {
          woken++;
          dispatcher.wake();
        },
      };
      dispatcher.start();
      await sleep(200); // its first round, at start, found nothing
      const processor = new InboundProcessor(h.herald.db, box, log, () => undefined, { pollIntervalMs: 60_000, leaseMs: 60_000, worker });
      const receive = async (uid: string, body: object) => {
        const source = (await h.api('POST', `/v1/tenants/${uid}/sources`, { provider: 'token', name: 't', secret: 'tok' })).body;
        const r = await fetch(`${h.url}/in/${source.id}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-webhook-token': 'tok' },
          body: JSON.stringify(body),
        });
        assert.equal(r.status, 200);
      };
      try {
        await h.api('POST', '/v1/tenants', { name: 'Fwd', uid: 'fwd' });
        await h.api('POST', '/v1/tenants/fwd/endpoints', { url: `${rx.url}/fwd` });
        await h.api('POST', '/v1/tenants/fwd/endpoints', { url: `${rx.url}/fwd-original`, format: 'original' });
        await receive('fwd', { type: 'order_paid', id: 8 });
        assert.equal(await processor.step(), true);
        await eventually(async () => rx.received.filter((r) => r.path.startsWith('/fwd')).length === 2, 10_000, 'both delivered');
        assert.equal(woken, 0, 'handed over: no claim was needed');
        const original = rx.received.find((r) => r.path === '/fwd-original')!;
        assert.equal(
          original.body,
          JSON.stringify({ type: 'order_paid', id: 8 }),
          'format "original": the received body, as claimed it would be',
        );
        assert.equal(original.headers['content-type'], 'application/json', 'and its headers');
        assert.equal(original.headers['x-webhook-token'], undefined, 'but not its credential (stored redacted)');

        // An ordered endpoint takes its deliveries in turn, by the claim: written due, and the worker woken.
        await h.api('POST', '/v1/tenants', { name: 'Fwd in order', uid: 'fwd-ordered' });
        await h.api('POST', '/v1/tenants/fwd-ordered/endpoints', { url: `${rx.url}/fwd-ordered`, ordered: true });
        await receive('fwd-ordered', { type: 'order_paid', id: 9 });
        assert.equal(await processor.step(), true);
        await eventually(async () => rx.received.some((r) => r.path === '/fwd-ordered'), 10_000, 'delivered');
        assert.equal(woken, 1);
      } finally {
        await processor.stop();
        await dispatcher.stop();
      }
    });
  });
}
