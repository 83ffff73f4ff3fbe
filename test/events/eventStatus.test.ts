import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeliveryStatus, EventStatus } from '../../src/delivery/status.js';
import { refreshEventStatus } from '../../src/events/eventStatus.js';
import { DIALECTS } from '../helpers/db.js';
import { QueueFixture } from '../helpers/queue.js';

// An event's status follows its deliveries, called directly on both dialects.
for (const dialect of DIALECTS) {
  describe(`event status (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.endpoint('ep_a', 'ta');
    });

    /** An event (stored with a status it does not have) with deliveries of these statuses. */
    const eventWith = async (id: string, statuses: DeliveryStatus[]) => {
      await f.event(id, 'ta', { status: EventStatus.Succeeded });
      for (const [i, status] of statuses.entries()) await f.delivery(`${id}_${i}`, { endpoint: 'ep_a', event: id, status });
    };

    it('is in progress while any delivery is, failed when none is and one failed, delivered when all were, and N without deliveries', async () => {
      const { InProgress: I, Succeeded: S, Failed: F } = DeliveryStatus;
      await eventWith('evt_i', [S, I, F]);
      await eventWith('evt_f', [S, F, S]);
      await eventWith('evt_s', [S, S]);
      await eventWith('evt_n', []);
      await eventWith('evt_untouched', [F]);
      await refreshEventStatus(f.db, ['evt_i', 'evt_f', 'evt_s', 'evt_n']);
      const got = await f.db.all<{ id: string; status: string }>('SELECT id, status FROM events ORDER BY id');
      assert.deepEqual(
        got.map((e) => [e.id, e.status]),
        [
          ['evt_f', EventStatus.Failed],
          ['evt_i', EventStatus.InProgress],
          ['evt_n', EventStatus.NoEndpoints],
          ['evt_s', EventStatus.Succeeded],
          ['evt_untouched', EventStatus.Succeeded],
        ],
      );
    });

    it('refreshes more events than one statement holds', async () => {
      const ids = Array.from({ length: 501 }, (_, i) => `evt_${String(i).padStart(4, '0')}`);
      for (const id of ids) await f.event(id, 'ta', { status: EventStatus.InProgress });
      await refreshEventStatus(f.db, ids);
      const n = await f.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM events WHERE status = $1', [EventStatus.NoEndpoints]);
      assert.equal(Number(n?.n), 501);
    });
  });
}
