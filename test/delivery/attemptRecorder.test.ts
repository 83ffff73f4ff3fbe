import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from '../../src/db/db.js';
import { AttemptRecorder } from '../../src/delivery/attemptRecorder.js';
import { DeliveryStatus } from '../../src/delivery/status.js';
import { createLogger } from '../../src/log.js';
import { DIALECTS } from '../helpers/db.js';
import { NOW, outcomeOf, QueueFixture } from '../helpers/queue.js';

// The recorder batches outcomes into transactions. The worker keeps a delivery's room until the
// outcome's record() resolves, so it must resolve when its own batch is written: under steady
// load the flush itself never ends (every batch finds the next one queued).

const HEALTH = { threshold: 5, cooldownMs: 60_000, disableAfterMs: 86_400_000 };

for (const dialect of DIALECTS) {
  describe(`the attempt recorder (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.endpoint('ep_a', 'ta');
      for (const id of ['dlv_1', 'dlv_2']) await f.delivery(id, { endpoint: 'ep_a', leaseToken: 'mine', dueAt: NOW + 60_000 });
    });

    const outcome = (deliveryId: string) => outcomeOf(deliveryId);

    it("resolves an outcome's record() once its batch is written, while the next batch is still being written", async () => {
      // The real database, with a gate in front of its transactions: the second batch's waits.
      let gate: Promise<void> | null = null;
      let open!: () => void;
      const gated = new Proxy(f.db, {
        get(db, prop, receiver) {
          if (prop === 'tx')
            return async (fn: Parameters<Db['tx']>[0]) => {
              if (gate) await gate;
              return db.tx(fn);
            };
          if (prop === 'txJob')
            return async (...args: Parameters<Db['txJob']>) => {
              if (gate) await gate;
              return db.txJob(...args);
            };
          const v = Reflect.get(db, prop, receiver) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(db) : v;
        },
      });
      const later: { second?: Promise<void> } = {};
      const batches: string[][] = [];
      const recorder = new AttemptRecorder(
        gated,
        HEALTH,
        () => NOW,
        createLogger('silent'),
        (_result, batch) => {
          batches.push(batch.map((o) => o.deliveryId));
          if (batches.length === 1) {
            // The first batch is written; the next outcome arrives and its transaction is held.
            gate = new Promise<void>((r) => (open = r));
            later.second = recorder.record(outcome('dlv_2'));
          }
        },
      );
      const first = await Promise.race([
        recorder.record(outcome('dlv_1')).then(() => 'resolved'),
        new Promise((r) => setTimeout(r, 5000, 'still waiting after 5 s')),
      ]);
      if (first !== 'resolved') open(); // let the flush end, so the failure below is the only one
      assert.equal(first, 'resolved', "the first outcome's record() waits for the second batch");
      assert.deepEqual(batches, [['dlv_1']], 'the first resolved with only its own batch written');
      assert.equal((await f.storedDelivery('dlv_1'))?.status, DeliveryStatus.Succeeded);
      assert.equal((await f.storedDelivery('dlv_2'))?.status, DeliveryStatus.InProgress, 'the second is still waiting');
      open();
      await later.second;
      assert.deepEqual(batches, [['dlv_1'], ['dlv_2']]);
      assert.equal((await f.storedDelivery('dlv_2'))?.status, DeliveryStatus.Succeeded);
      await recorder.flush();
    });
  });
}
