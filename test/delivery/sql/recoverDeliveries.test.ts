import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PostgresDb } from '../../../src/db/postgres.js';
import { getRecovery, startRecovery, stepRecovery } from '../../../src/delivery/sql/recoverDeliveries.js';
import { DeliveryStatus, EventStatus } from '../../../src/delivery/status.js';
import { DIALECTS } from '../../helpers/db.js';
import { NOW, QueueFixture } from '../../helpers/queue.js';

// Bulk recovery, called directly on both dialects at a fixed clock: what a recovery counts, the
// order it works in, what it changes, and its lease.
const SINCE = NOW - 3600_000;
const UNTIL = NOW - 60_000;

for (const dialect of DIALECTS) {
  describe(`recovering an endpoint's deliveries (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.endpoint('ep_a', 'ta', { circuitOpenUntil: NOW + 600_000, consecutiveFailures: 9, failingSince: SINCE });
      await f.endpoint('ep_other', 'ta');
      const inWindow = SINCE + 1000;
      // (The window holds its start, not its end.) Waiting for a later retry: made due now.
      await f.delivery('dlv_w1', { endpoint: 'ep_a', dueAt: NOW + 100_000, attempts: 2, scheduleStart: 0, createdAt: SINCE });
      await f.delivery('dlv_w2', { endpoint: 'ep_a', dueAt: NOW + 200_000, attempts: 3, createdAt: inWindow });
      // Failed for good: sent again with a fresh retry schedule.
      for (const id of ['dlv_f1', 'dlv_f2', 'dlv_f3'])
        await f.delivery(id, { endpoint: 'ep_a', status: DeliveryStatus.Failed, attempts: 6, createdAt: inWindow });
      await f.db.run(`UPDATE events SET status = $1 WHERE id IN ('evt_dlv_f1', 'evt_dlv_f2', 'evt_dlv_f3')`, [EventStatus.Failed]);
      // Left alone: being sent right now, due already, delivered, outside the window, another endpoint.
      await f.delivery('dlv_leased', { endpoint: 'ep_a', dueAt: NOW + 30_000, leaseToken: 'worker', createdAt: inWindow });
      await f.delivery('dlv_due', { endpoint: 'ep_a', dueAt: NOW - 5, createdAt: inWindow });
      await f.delivery('dlv_s', { endpoint: 'ep_a', status: DeliveryStatus.Succeeded, createdAt: inWindow });
      await f.delivery('dlv_before', { endpoint: 'ep_a', status: DeliveryStatus.Failed, createdAt: SINCE - 1 });
      await f.delivery('dlv_at_until', { endpoint: 'ep_a', status: DeliveryStatus.Failed, createdAt: UNTIL });
      await f.delivery('dlv_elsewhere', { endpoint: 'ep_other', status: DeliveryStatus.Failed, createdAt: inWindow });
    });

    const states = async () =>
      Object.fromEntries(
        (
          await f.db.all<{ id: string; status: string; due_at: number | null; schedule_start: number }>(
            'SELECT id, status, due_at, schedule_start FROM deliveries ORDER BY id',
          )
        ).map((d) => [d.id, [d.status, d.due_at, d.schedule_start]]),
      );

    it('counts the failed and waiting deliveries of the endpoint in the window, and half-opens its circuit', async () => {
      const r = await startRecovery(f.db, 'ta', 'ep_a', SINCE, UNTIL, NOW);
      assert.deepEqual([r.status, r.total, r.failed, r.waiting, r.done], ['running', 5, 3, 2, 0]);
      assert.equal((await f.health('ep_a'))?.circuit_open_until, null, 'a probe may go at once');
      assert.deepEqual(await getRecovery(f.db, 'ta', r.id), r);
    });

    it('is done at once when there is nothing to recover', async () => {
      const r = await startRecovery(f.db, 'ta', 'ep_other', NOW - 10, NOW, NOW);
      assert.deepEqual([r.status, r.total], ['done', 0]);
      assert.equal(await stepRecovery(f.db, { batch: 10, leaseMs: 1000, now: NOW }), false);
    });

    it('refuses a window that ends before it starts', async () => {
      await assert.rejects(startRecovery(f.db, 'ta', 'ep_a', UNTIL, SINCE, NOW), /since must be before until/);
    });

    it('works in batches: the waiting deliveries first, then the failed ones, recording progress after each', async () => {
      const before = await states();
      const r = await startRecovery(f.db, 'ta', 'ep_a', SINCE, UNTIL, NOW);
      const step = (now: number) => stepRecovery(f.db, { batch: 2, leaseMs: 60_000, now });
      const progress = async () => {
        const p = await getRecovery(f.db, 'ta', r.id);
        return [p.status, p.done];
      };

      assert.equal(await step(NOW + 1), true);
      assert.deepEqual(await progress(), ['running', 2]);
      let s = await states();
      // Due now, on the same retry schedule; still in progress.
      assert.deepEqual(
        [s.dlv_w1, s.dlv_w2],
        [
          [DeliveryStatus.InProgress, NOW + 1, 0],
          [DeliveryStatus.InProgress, NOW + 1, 0],
        ],
      );
      assert.deepEqual(
        [s.dlv_f1, s.dlv_f2, s.dlv_f3],
        [before.dlv_f1, before.dlv_f2, before.dlv_f3],
        'failed ones wait for the waiting phase to end',
      );

      assert.equal(await step(NOW + 2), true, 'the waiting phase ends on a short batch');
      assert.deepEqual(await progress(), ['running', 2]);

      assert.equal(await step(NOW + 3), true);
      s = await states();
      // In progress again, due now, with a fresh schedule (counted from the attempts made so far).
      assert.deepEqual(
        [s.dlv_f1, s.dlv_f2, s.dlv_f3],
        [[DeliveryStatus.InProgress, NOW + 3, 6], [DeliveryStatus.InProgress, NOW + 3, 6], before.dlv_f3],
      );
      assert.deepEqual(
        [await f.eventStatus('evt_dlv_f1'), await f.eventStatus('evt_dlv_f3')],
        [EventStatus.InProgress, EventStatus.Failed],
        'their events follow',
      );
      assert.deepEqual(await progress(), ['running', 4]);

      assert.equal(await step(NOW + 4), true);
      assert.deepEqual((await states()).dlv_f3, [DeliveryStatus.InProgress, NOW + 4, 6]);
      assert.deepEqual(await progress(), ['done', 5]);
      assert.equal(await step(NOW + 5), false, 'nothing left to do');

      s = await states();
      for (const id of ['dlv_leased', 'dlv_due', 'dlv_s', 'dlv_before', 'dlv_at_until', 'dlv_elsewhere'])
        assert.deepEqual(s[id], before[id], `${id} untouched`);
    });

    it('a recovery another node is working on is not taken until its lease runs out', async () => {
      const r = await startRecovery(f.db, 'ta', 'ep_a', SINCE, UNTIL, NOW);
      await f.db.run('UPDATE recoveries SET lease_until = $2 WHERE id = $1', [r.id, NOW + 1000]);
      assert.equal(await stepRecovery(f.db, { batch: 10, leaseMs: 1000, now: NOW + 1000 }), false);
      assert.equal((await getRecovery(f.db, 'ta', r.id)).done, 0);
      assert.equal(await stepRecovery(f.db, { batch: 10, leaseMs: 1000, now: NOW + 1001 }), true);
      assert.equal((await getRecovery(f.db, 'ta', r.id)).done, 2);
    });

    it('passes over a recovery another node holds and takes the next one', async () => {
      const held = await startRecovery(f.db, 'ta', 'ep_a', SINCE, UNTIL, NOW);
      await f.db.run('UPDATE recoveries SET lease_until = $2 WHERE id = $1', [held.id, NOW + 1000]);
      const next = await startRecovery(f.db, 'ta', 'ep_a', SINCE, UNTIL, NOW + 1);
      assert.equal(await stepRecovery(f.db, { batch: 10, leaseMs: 1000, now: NOW + 2 }), true);
      assert.deepEqual([(await getRecovery(f.db, 'ta', held.id)).done, (await getRecovery(f.db, 'ta', next.id)).done], [0, 2]);
    });

    if (dialect === 'postgres') {
      it('does not take a recovery another node took while this one was looking', async () => {
        const r = await startRecovery(f.db, 'ta', 'ep_a', SINCE, UNTIL, NOW);
        // The other node's UPDATE is written but not committed: this step reads the recovery as
        // free, waits on its row, and must find it taken once the other commits.
        const other = await (f.db as PostgresDb).pool.connect();
        try {
          await other.query('BEGIN');
          await other.query('UPDATE recoveries SET lease_until = $2 WHERE id = $1', [r.id, NOW + 60_000]);
          const step = stepRecovery(f.db, { batch: 10, leaseMs: 1000, now: NOW + 1 });
          await new Promise((resolve) => setTimeout(resolve, 300));
          await other.query('COMMIT');
          assert.equal(await step, false);
          assert.equal((await getRecovery(f.db, 'ta', r.id)).done, 0);
        } finally {
          other.release();
        }
      });
    }

    it('answers not found for another tenant’s recovery', async () => {
      await f.tenant('tb');
      const r = await startRecovery(f.db, 'ta', 'ep_a', SINCE, UNTIL, NOW);
      await assert.rejects(getRecovery(f.db, 'tb', r.id), /recovery/);
    });
  });
}
