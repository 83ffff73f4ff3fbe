import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Db } from '../../../src/db/db.js';
import { type NewInbound, storeInbound, storeInboundAtOnce } from '../../../src/inbound/sql/storeInbound.js';
import { DIALECTS } from '../../helpers/db.js';
import { NOW, QueueFixture } from '../../helpers/queue.js';

// Storing received webhooks as the receiving route's group commit does, called directly on both
// dialects: in the caller's transaction (SQLite, and Postgres for a large group), and on Postgres
// as one statement that commits by itself.
for (const dialect of DIALECTS) {
  describe(`storing received webhooks (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.source('src_1', 'ta', 'github');
    });

    const message = (dedupeKey: string | null, status: NewInbound['status'] = 'received'): NewInbound => ({
      sourceId: 'src_1',
      tenantId: 'ta',
      status,
      reason: status === 'rejected' ? 'signature does not match' : null,
      dedupeKey,
      eventType: 'github.push',
      headers: { 'x-github-delivery': dedupeKey ?? '' },
      body: Buffer.from(`{"d":"${dedupeKey}"}`),
      bodySize: null,
      receivedAt: NOW,
    });
    // As the route stores a group: one statement on Postgres, the caller's transaction on SQLite.
    const store = async (
      db: Db,
      messages: NewInbound[],
    ): Promise<{ results: { id: string; duplicate: boolean }[]; failures?: unknown[] }> =>
      db.dialect === 'postgres' ? storeInboundAtOnce(db, messages) : { results: await db.tx((q) => storeInbound(q, messages)) };
    const rows = () =>
      f.db.all<{ id: string; status: string; dedupe_key: string | null; duplicates: number; due_at: number | null }>(
        'SELECT id, status, dedupe_key, duplicates, due_at FROM inbound_messages ORDER BY id',
      );

    it('stores each new provider id once, answers a repeated one (in the group or before it) with the first, and counts it', async () => {
      const first = await store(f.db, [message('d-1')]);
      const { results, failures } = await store(f.db, [message('d-2'), message('d-1'), message('d-2'), message('d-3', 'rejected')]);
      assert.equal(failures, undefined);
      assert.deepEqual(
        results.map((r) => r.duplicate),
        [false, true, true, false],
      );
      assert.equal(results[1].id, first.results[0].id, 'seen in an earlier group');
      assert.equal(results[2].id, results[0].id, 'seen earlier in this group');
      const stored = await rows();
      assert.deepEqual(
        stored.map((r) => [r.dedupe_key, r.status, r.duplicates]),
        [
          ['d-1', 'received', 1],
          ['d-2', 'received', 1],
          [null, 'rejected', 0], // a refused request is kept whatever its id, and not deduplicated
        ],
      );
      assert.ok(
        stored.filter((r) => r.status === 'received').every((r) => r.due_at === NOW),
        'due for processing at once',
      );
    });

    it('a group larger than one statement is stored whole, in order', async () => {
      const many = Array.from({ length: 450 }, (_, i) => message(`d-${i}`));
      many.push(message('d-7'));
      const { results } = await store(f.db, many);
      assert.equal(results.length, 451);
      assert.equal(results.filter((r) => r.duplicate).length, 1);
      assert.equal(results[450].id, results[7].id);
      const stored = await rows();
      assert.equal(stored.length, 450);
      assert.deepEqual(
        stored.map((r) => r.id),
        results.slice(0, 450).map((r) => r.id),
        'ids in arrival order',
      );
    });

    it('a message of a source deleted meanwhile fails the group, and stores nothing of it', async () => {
      const gone = { ...message('d-9'), sourceId: 'src_gone' };
      await assert.rejects(store(f.db, [message('d-8'), gone]), (err: { code?: string }) =>
        ['23503', 'SQLITE_CONSTRAINT_FOREIGNKEY'].includes(err.code!),
      );
      assert.deepEqual(await rows(), []);
    });
  });
}
