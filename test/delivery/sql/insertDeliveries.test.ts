import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { insertDeliveries, type NewDelivery } from '../../../src/delivery/sql/insertDeliveries.js';
import { createCustomerAnnounced, updateCustomerAnnounced } from '../../../src/customers/customerChanges.js';
import { DeliveryStatus } from '../../../src/delivery/status.js';
import { EventWriter, insertEvents } from '../../../src/events/eventWriter.js';
import { DIALECTS } from '../../helpers/db.js';
import { NOW, QueueFixture } from '../../helpers/queue.js';

// The outbox's delivery rows, written directly on both dialects at a fixed clock.
for (const dialect of DIALECTS) {
  describe(`inserting deliveries (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.endpoint('ep_a', 'ta');
      await f.event('evt_1', 'ta');
    });

    const rows = (n: number, leased: (i: number) => boolean): NewDelivery[] =>
      Array.from({ length: n }, (_, i) => ({
        id: `dlv_${String(i).padStart(4, '0')}`,
        eventId: 'evt_1',
        endpointId: 'ep_a',
        tenantId: 'ta',
        leased: leased(i),
      }));
    const stored = () =>
      f.db.all<{ id: string; status: string; attempts: number; due_at: number; lease_token: string | null; created_at: number }>(
        'SELECT id, status, attempts, due_at, lease_token, created_at FROM deliveries ORDER BY id',
      );

    it('writes leased deliveries due when the lease ends, with its token, and the rest due now without one', async () => {
      await insertDeliveries(
        f.db,
        rows(3, (i) => i !== 1),
        { token: 'local', until: NOW + 30_000 },
        NOW,
      );
      assert.deepEqual(await stored(), [
        { id: 'dlv_0000', status: DeliveryStatus.InProgress, attempts: 0, due_at: NOW + 30_000, lease_token: 'local', created_at: NOW },
        { id: 'dlv_0001', status: DeliveryStatus.InProgress, attempts: 0, due_at: NOW, lease_token: null, created_at: NOW },
        { id: 'dlv_0002', status: DeliveryStatus.InProgress, attempts: 0, due_at: NOW + 30_000, lease_token: 'local', created_at: NOW },
      ]);
    });

    it('writes every delivery due now when there is no lease, whatever the rows ask', async () => {
      await insertDeliveries(
        f.db,
        rows(2, () => true),
        null,
        NOW,
      );
      assert.deepEqual(
        (await stored()).map((d) => [d.due_at, d.lease_token]),
        [
          [NOW, null],
          [NOW, null],
        ],
      );
    });

    it('makes the unleased ones due at the time it is given (the database clock), and stamps them with now', async () => {
      await insertDeliveries(
        f.db,
        rows(3, (i) => i === 0),
        { token: 'local', until: NOW + 30_000 },
        NOW,
        NOW - 7,
      );
      assert.deepEqual(
        (await stored()).map((d) => [d.due_at, d.lease_token, d.created_at]),
        [
          [NOW + 30_000, 'local', NOW],
          [NOW - 7, null, NOW],
          [NOW - 7, null, NOW],
        ],
      );
      // Every row leased: the due time is not a parameter of the statement (Postgres refuses one no row uses).
      await f.db.run('DELETE FROM deliveries');
      await insertDeliveries(
        f.db,
        rows(2, () => true),
        { token: 'local', until: NOW + 1 },
        NOW,
        NOW - 7,
      );
      assert.deepEqual(
        (await stored()).map((d) => d.due_at),
        [NOW + 1, NOW + 1],
      );
    });

    it('the event writer and insertEvents make deliveries not handed over due by the clock they are given', async () => {
      // A database clock 5 s behind this process's: a worker claiming by it finds them due at once.
      const dbNow = Date.now() - 5000;
      const writer = new EventWriter(f.db, f.box, { clock: { now: () => dbNow } });
      const [written] = await writer.write('ta', [{ type: 'thing.happened', payload: '{"n":1}' }]);
      const [inserted] = await f.db.tx((q) => insertEvents(q, f.box, 'ta', [{ type: 'thing.happened', payload: '{"n":2}' }], dbNow - 1));
      const due = (eventId: string) =>
        f.db.one<{ due_at: number | string; lease_token: string | null }>(
          'SELECT due_at, lease_token FROM deliveries WHERE event_id = $1',
          [eventId],
        );
      assert.deepEqual(await due(written.id).then((d) => [Number(d!.due_at), d!.lease_token]), [dbNow, null]);
      assert.deepEqual(await due(inserted.id).then((d) => [Number(d!.due_at), d!.lease_token]), [dbNow - 1, null]);
    });

    it("a customer's created and updated events are due by the clock they are given too", async () => {
      const dbNow = Date.now() - 5000;
      const clock = { now: () => dbNow };
      const { customer } = await createCustomerAnnounced(f.db, f.box, clock, 'ta', { key: 'acme', kind: 'organization' });
      await updateCustomerAnnounced(f.db, f.box, clock, customer, { name: 'Acme' });
      const due = await f.db.all<{ type: string; due_at: number | string }>(
        `SELECT e.type, d.due_at FROM deliveries d JOIN events e ON e.id = d.event_id WHERE e.type LIKE 'customer.%' ORDER BY e.type`,
      );
      assert.deepEqual(
        due.map((d) => [d.type, Number(d.due_at)]),
        [
          ['customer.created', dbNow],
          ['customer.updated', dbNow],
        ],
      );
    });

    it('writes more deliveries than one statement holds', async () => {
      await insertDeliveries(
        f.db,
        rows(2001, (i) => i % 2 === 0),
        { token: 'local', until: NOW + 1 },
        NOW,
      );
      const got = await stored();
      assert.equal(got.length, 2001);
      assert.deepEqual(
        got.map((d) => d.lease_token),
        rows(2001, (i) => i % 2 === 0).map((r) => (r.leased ? 'local' : null)),
      );
    });
  });
}
