import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ListenerFeed, type ListenerDeps, LISTENER_IN_FLIGHT, recordListenerAnswer } from '../../../src/delivery/listenerFeed.js';
import { CLAIM, claimDueDeliveries } from '../../../src/delivery/sql/claimDueDeliveries.js';
import { claimListenerDeliveries } from '../../../src/delivery/sql/claimListenerDeliveries.js';
import { DeliveryStatus } from '../../../src/delivery/status.js';
import { expireListeners } from '../../../src/endpoints/listeners.js';
import { loadConfig } from '../../../src/config.js';
import { DIALECTS } from '../../helpers/db.js';
import { NOW, QueueFixture } from '../../helpers/queue.js';

// Listen endpoints on the queue (herald listen): the worker's claim leaves their deliveries alone
// at no change of plan, and a listener's connection claims, hands over and records them.
for (const dialect of DIALECTS) {
  describe(`listen endpoints on the queue (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.endpoint('ep_http', 'ta');
      await f.endpoint('ep_listen', 'ta', { kind: 'listen', expiresAt: NOW + 60_000 });
      await f.endpoint('ep_other_listen', 'ta', { kind: 'listen', expiresAt: NOW + 60_000 });
    });
    const clock = { now: () => NOW };
    const deps = (): ListenerDeps => ({
      db: f.db,
      box: f.box,
      clock,
      config: { ...loadConfig({ HERALD_RETRY_SCHEDULE: '5,300' }), listenExpiryMs: 60_000 },
    });

    it("the worker's claim never takes a listen endpoint's deliveries", async () => {
      await f.delivery('dlv_http', { endpoint: 'ep_http' });
      await f.delivery('dlv_listen', { endpoint: 'ep_listen' });
      const claimed = await claimDueDeliveries(f.db, f.box, { limit: 10, leaseMs: 30_000, leaseToken: 'worker', now: NOW });
      assert.deepEqual(
        claimed.map((d) => d.id),
        ['dlv_http'],
      );
      assert.equal((await f.storedDelivery('dlv_listen'))?.lease_token, null);
    });

    it("the worker's claim still reads the partial index deliveries_due", async () => {
      // Enough finished rows that a plan not using the partial index would show.
      const rows = Array.from({ length: 3000 }, (_, i) => ({
        id: `dlv_old_${String(i).padStart(5, '0')}`,
        leaseToken: null,
        dueAt: NOW - 1000,
      }));
      await f.manyDeliveries('ep_http', 'evt_many', rows);
      await f.db.run(`UPDATE deliveries SET status = 'S', due_at = NULL WHERE id LIKE 'dlv_old_%'`);
      // And as many endpoints as a real Herald has, or the planner reads the whole (tiny) table.
      await f.db.run(
        `WITH RECURSIVE n (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000)
         INSERT INTO endpoints (id, tenant_id, url, secret, created_at, updated_at)
         SELECT 'ep_' || CAST(i AS text), 'ta', 'http://127.0.0.1:9/', 'x', 0, 0 FROM n`,
      );
      await f.delivery('dlv_due', { endpoint: 'ep_http' });
      await f.delivery('dlv_listen', { endpoint: 'ep_listen' });
      const params = [
        NOW,
        10,
        NOW + 30_000,
        'worker',
        dialect === 'postgres' ? [] : '[]',
        dialect === 'postgres' ? [] : '[]',
        20,
        '{}',
        10,
      ];
      if (dialect === 'postgres') {
        await f.db.run('ANALYZE deliveries');
        await f.db.run('ANALYZE endpoints');
      }
      // The plan's nodes, without costs and conditions.
      const shape = async (sql: string) => {
        if (dialect === 'postgres') {
          const out = await f.db.all<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, params);
          return out
            .map((r) => r['QUERY PLAN'])
            .filter((l) => !/^\s*(Filter|Join Filter|Index Cond|Hash Cond|Sort Key|Rows Removed)/.test(l))
            .map((l) => l.replace(/\s*\(cost=[^)]*\)/, ''))
            .join('\n');
        }
        const out = await f.db.all<{ detail: string }>(`EXPLAIN QUERY PLAN ${sql}`, params);
        return out.map((r) => r.detail).join('\n');
      };
      const now = await shape(CLAIM[dialect]);
      const withoutListen = CLAIM[dialect].replace(/ep\.kind = 'listen'\s+OR\s+/, '');
      assert.notEqual(withoutListen, CLAIM[dialect]);
      assert.match(now, /deliveries_due/, now);
      assert.doesNotMatch(now, /Seq Scan on deliveries|SCAN d\b/, now);
      // The listen check costs nothing more: the endpoint row is read by its key, as before.
      assert.match(now, dialect === 'postgres' ? /Index Scan using endpoints_pkey on endpoints ep/ : /SEARCH ep USING INDEX/, now);
      assert.equal(now, await shape(withoutListen), 'the listen filter leaves the plan as it was');
    });

    it("a listener's claim takes its own endpoint's due deliveries, oldest first, under a lease", async () => {
      await f.delivery('dlv_b', { endpoint: 'ep_listen', dueAt: NOW - 500 });
      await f.delivery('dlv_a', { endpoint: 'ep_listen', dueAt: NOW - 2000 });
      await f.delivery('dlv_later', { endpoint: 'ep_listen', dueAt: NOW + 1000 });
      await f.delivery('dlv_other', { endpoint: 'ep_other_listen' });
      await f.delivery('dlv_http', { endpoint: 'ep_http' });
      const claimed = await claimListenerDeliveries(f.db, f.box, {
        endpointId: 'ep_listen',
        limit: 10,
        leaseMs: 30_000,
        leaseToken: 'conn',
        now: NOW,
      });
      assert.deepEqual(
        claimed.map((d) => d.id),
        ['dlv_a', 'dlv_b'],
      );
      const row = await f.storedDelivery('dlv_a');
      assert.deepEqual([row?.lease_token, row?.due_at], ['conn', NOW + 30_000]);
      assert.equal((await f.storedDelivery('dlv_other'))?.lease_token, null);
      // While the circuit is open, nothing (as for a worker).
      await f.delivery('dlv_c', { endpoint: 'ep_listen' });
      await f.db.run('UPDATE endpoints SET circuit_open_until = $1 WHERE id = $2', [NOW + 5000, 'ep_listen']);
      assert.deepEqual(
        await claimListenerDeliveries(f.db, f.box, { endpointId: 'ep_listen', limit: 10, leaseMs: 30_000, leaseToken: 'conn', now: NOW }),
        [],
      );
    });

    it('a connection hands over the signed request, holds at most 10 unanswered, and gives back what it held when it ends', async () => {
      for (let i = 0; i < LISTENER_IN_FLIGHT + 2; i++)
        await f.delivery(`dlv_${String(i).padStart(2, '0')}`, { endpoint: 'ep_listen', dueAt: NOW - 100 + i });
      const feed = new ListenerFeed(deps(), 'ep_listen');
      const first = await feed.take();
      assert.equal(first.length, LISTENER_IN_FLIGHT);
      const m = first[0];
      assert.equal(m.deliveryId, 'dlv_00');
      assert.equal(m.attempt, 1);
      assert.equal(m.headers['webhook-id'], 'evt_dlv_00');
      assert.equal(m.headers['x-herald-webhook-token'], 'token-of-ta');
      assert.match(m.headers['webhook-signature'], /^v1,/);
      assert.equal(
        Buffer.from(m.body, 'base64').toString(),
        `{"id":"evt_dlv_00","type":"thing.happened","timestamp":"${new Date(NOW - 60_000).toISOString()}","data":{"n":1}}`,
      );
      assert.deepEqual(await feed.take(), [], 'ten unanswered: nothing more');
      await recordListenerAnswer(deps(), 'ep_listen', {
        deliveryId: m.deliveryId,
        leaseToken: m.leaseToken,
        statusCode: 200,
        durationMs: 5,
        responseBody: 'ok',
        error: null,
        retryAfterMs: null,
      });
      assert.deepEqual(
        (await feed.take()).map((d) => d.deliveryId),
        ['dlv_10'],
      );
      // The connection ends: what it held unanswered is due at once for the next one.
      assert.equal(await feed.release(), LISTENER_IN_FLIGHT);
      const row = await f.storedDelivery('dlv_05');
      assert.deepEqual([row?.lease_token, row?.due_at], [null, NOW]);
    });

    it("records the answer as the delivery's attempt: retried on the schedule, then delivered; a late answer is refused", async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_listen' });
      const feed = new ListenerFeed(deps(), 'ep_listen');
      const [m] = await feed.take();
      const failed = await recordListenerAnswer(deps(), 'ep_listen', {
        deliveryId: 'dlv_1',
        leaseToken: m.leaseToken,
        statusCode: 500,
        durationMs: 12,
        responseBody: 'boom',
        error: null,
        retryAfterMs: null,
      });
      assert.equal(failed.status, DeliveryStatus.InProgress);
      const due = Date.parse(failed.nextAttemptAt!);
      assert.ok(due >= NOW + 4000 && due <= NOW + 6000, `retry 5 s later ±20 %, got ${failed.nextAttemptAt}`);
      let row = await f.storedDelivery('dlv_1');
      assert.deepEqual([row?.attempts, row?.last_status_code, row?.last_error, row?.lease_token], [1, 500, 'endpoint answered 500', null]);
      const attempts = await f.db.all<{ status_code: number; response_body: string; duration_ms: number }>(
        'SELECT status_code, response_body, duration_ms FROM attempts WHERE delivery_id = $1',
        ['dlv_1'],
      );
      assert.deepEqual(attempts, [{ status_code: 500, response_body: 'boom', duration_ms: 12 }]);
      assert.equal((await f.health('ep_listen'))?.consecutive_failures, 1);

      const retryClock = { now: () => due };
      const feed2 = new ListenerFeed({ ...deps(), clock: retryClock }, 'ep_listen');
      const [again] = await feed2.take();
      assert.equal(again.attempt, 2);
      const ok = await recordListenerAnswer({ ...deps(), clock: retryClock }, 'ep_listen', {
        deliveryId: 'dlv_1',
        leaseToken: again.leaseToken,
        statusCode: 204,
        durationMs: 3,
        responseBody: '',
        error: null,
        retryAfterMs: null,
      });
      assert.deepEqual([ok.status, ok.attempts, ok.nextAttemptAt], [DeliveryStatus.Succeeded, 2, null]);
      row = await f.storedDelivery('dlv_1');
      assert.equal(row?.status, DeliveryStatus.Succeeded);
      assert.equal(await f.eventStatus('evt_dlv_1'), 'S');
      await assert.rejects(
        recordListenerAnswer(deps(), 'ep_listen', {
          deliveryId: 'dlv_1',
          leaseToken: again.leaseToken,
          statusCode: 200,
          durationMs: 1,
          responseBody: null,
          error: null,
          retryAfterMs: null,
        }),
        /no longer in progress/,
      );
      // Another listener's delivery is not this one's to answer.
      await f.delivery('dlv_x', { endpoint: 'ep_other_listen' });
      await assert.rejects(
        recordListenerAnswer(deps(), 'ep_listen', {
          deliveryId: 'dlv_x',
          leaseToken: 'x',
          statusCode: 200,
          durationMs: 1,
          responseBody: null,
          error: null,
          retryAfterMs: null,
        }),
        /was not found/,
      );
    });

    it('maintenance deletes a listen endpoint nobody renewed, failing what waited for it', async () => {
      await f.endpoint('ep_stale', 'ta', { kind: 'listen', expiresAt: NOW - 1 });
      await f.delivery('dlv_stale', { endpoint: 'ep_stale' });
      await f.delivery('dlv_fresh', { endpoint: 'ep_listen' });
      assert.equal(await expireListeners(f.db, NOW), 1);
      const row = await f.storedDelivery('dlv_stale');
      assert.equal(row?.status, DeliveryStatus.Failed);
      assert.match(row?.last_error ?? '', /listener expired/);
      assert.equal(await f.eventStatus('evt_dlv_stale'), 'F');
      assert.equal((await f.storedDelivery('dlv_fresh'))?.status, DeliveryStatus.InProgress);
      const gone = await f.db.one<{ deleted_at: number | null }>('SELECT deleted_at FROM endpoints WHERE id = $1', ['ep_stale']);
      assert.ok(gone?.deleted_at);
      assert.equal(await expireListeners(f.db, NOW), 0);
    });
  });
}
