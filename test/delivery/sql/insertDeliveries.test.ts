import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { insertDeliveries, type NewDelivery } from '../../../src/delivery/sql/insertDeliveries.js';
import { DeliveryStatus } from '../../../src/delivery/status.js';
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
