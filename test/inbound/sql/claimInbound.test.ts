import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PostgresDb } from '../../../src/db/postgres.js';
import { claimInbound } from '../../../src/inbound/sql/claimInbound.js';
import type { InboundStatus } from '../../../src/inbound/sql/storeInbound.js';
import { DIALECTS } from '../../helpers/db.js';
import { NOW, QueueFixture } from '../../helpers/queue.js';

// Claiming received webhooks for processing, called directly on both dialects at a fixed clock.
for (const dialect of DIALECTS) {
  describe(`claiming received webhooks (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.source('src_1', 'ta', 'chargify');
    });

    const message = (id: string, o: { status?: InboundStatus; dueAt?: number | null; attempts?: number; body?: Buffer } = {}) =>
      f.db.run(
        `INSERT INTO inbound_messages (id, source_id, tenant_id, status, headers, body, attempts, due_at, received_at) VALUES ($1, 'src_1', 'ta', $2, $3, $4, $5, $6, $7)`,
        [
          id,
          o.status ?? 'received',
          JSON.stringify({ 'x-id': id }),
          o.body ?? Buffer.from(`{"id":"${id}"}`),
          o.attempts ?? 0,
          o.dueAt === undefined ? NOW - 1000 : o.dueAt,
          NOW - 5000,
        ],
      );
    const claimedIds = async (opts: { limit?: number; now?: number } = {}) =>
      (await claimInbound(f.db, { limit: opts.limit ?? 10, leaseMs: 60_000, now: opts.now ?? NOW })).map((m) => m.id);
    const dueAt = async (id: string) =>
      (await f.db.one<{ due_at: number | null }>('SELECT due_at FROM inbound_messages WHERE id = $1', [id]))?.due_at;

    it('claims received messages oldest first, each under a lease, with what processing needs', async () => {
      const body = Buffer.from([0x7b, 0xff, 0x00, 0x7d]);
      await message('in_3');
      await message('in_1', { attempts: 2, body });
      await message('in_2', { dueAt: NOW });
      const claimed = await claimInbound(f.db, { limit: 2, leaseMs: 60_000, now: NOW });
      assert.deepEqual(
        claimed.map((m) => m.id),
        ['in_1', 'in_2'],
        'by arrival (id), not by due time',
      );
      assert.deepEqual(
        { ...claimed[0], body: [...claimed[0].body] },
        {
          id: 'in_1',
          sourceId: 'src_1',
          tenantId: 'ta',
          environmentId: 'sandbox',
          provider: 'chargify',
          headers: { 'x-id': 'in_1' },
          body: [...body],
          attempts: 2,
          receivedAt: NOW - 5000,
        },
      );
      assert.deepEqual([await dueAt('in_1'), await dueAt('in_2'), await dueAt('in_3')], [NOW + 60_000, NOW + 60_000, NOW - 1000]);
    });

    it('a message another node is processing is not claimed until its lease runs out', async () => {
      await message('in_1', { dueAt: NOW + 30_000 });
      assert.deepEqual(await claimedIds(), []);
      assert.deepEqual(await claimedIds({ now: NOW + 30_000 }), ['in_1']);
      assert.equal(await dueAt('in_1'), NOW + 30_000 + 60_000);
    });

    it('claims only received messages: processed, unmatched, rejected and failed ones stay where they are', async () => {
      for (const status of ['processed', 'unmatched', 'rejected', 'failed'] as const)
        await message(`in_${status}`, { status, dueAt: NOW - 1 });
      assert.deepEqual(await claimedIds(), []);
    });

    it('a message waiting out a backoff is not claimed before its time', async () => {
      await message('in_1', { dueAt: NOW + 1 });
      assert.deepEqual(await claimedIds(), []);
      assert.deepEqual(await claimedIds({ now: NOW + 1 }), ['in_1']);
    });

    if (dialect === 'postgres') {
      it('skips a message another node is claiming at this instant instead of waiting for it', async () => {
        await message('in_1');
        await message('in_2');
        const other = await (f.db as PostgresDb).pool.connect();
        try {
          await other.query('BEGIN');
          await other.query(`SELECT id FROM inbound_messages WHERE id = 'in_1' FOR UPDATE`);
          const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('waited on the locked row'), 3000).unref());
          assert.deepEqual(await Promise.race([claimedIds(), timeout]), ['in_2']);
        } finally {
          await other.query('ROLLBACK');
          other.release();
        }
      });
    }
  });
}
