import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deferDeliveries, recordAttempts, releaseLeases } from '../../../src/delivery/sql/recordAttempts.js';
import { DeliveryStatus, EventStatus } from '../../../src/delivery/status.js';
import { DIALECTS } from '../../helpers/db.js';
import { NOW, outcomeOf, QueueFixture } from '../../helpers/queue.js';

// Recording finished attempts, handing deliveries back, and releasing leases, called directly on
// both dialects at a fixed clock.
for (const dialect of DIALECTS) {
  describe(`recording attempts (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.endpoint('ep_a', 'ta');
    });

    /** The outcome of attempt `attempt` of a delivery this worker holds under lease "mine". */
    const outcome = outcomeOf;
    const attemptsOf = (deliveryId: string) =>
      f.db.all<{
        attempt: number;
        started_at: number;
        duration_ms: number;
        status_code: number | null;
        error: string | null;
        response_body: string | null;
      }>(
        'SELECT attempt, started_at, duration_ms, status_code, error, response_body FROM attempts WHERE delivery_id = $1 ORDER BY attempt',
        [deliveryId],
      );

    it('a success ends the lease, counts and logs the attempt, and its event becomes delivered', async () => {
      await f.delivery('dlv_1', { leaseToken: 'mine', endpoint: 'ep_a', dueAt: NOW + 30_000 });
      const r = await recordAttempts(f.db, [outcome('dlv_1')], undefined, NOW);
      assert.deepEqual(r, { transitions: [], exhausted: [], unrecorded: [] });
      const d = await f.storedDelivery('dlv_1');
      assert.deepEqual(
        [d?.status, d?.attempts, d?.due_at, d?.lease_token, d?.last_status_code, d?.last_error, d?.updated_at],
        [DeliveryStatus.Succeeded, 1, null, null, 200, null, NOW],
      );
      assert.deepEqual(await attemptsOf('dlv_1'), [
        { attempt: 1, started_at: NOW - 50, duration_ms: 40, status_code: 200, error: null, response_body: 'ok' },
      ]);
      assert.equal(await f.eventStatus('evt_dlv_1'), EventStatus.Succeeded);
    });

    it('a failure with retries left stays in progress, due at the next try, and its event stays in progress', async () => {
      await f.delivery('dlv_1', { leaseToken: 'mine', endpoint: 'ep_a', dueAt: NOW + 30_000 });
      const next = { status: DeliveryStatus.InProgress, dueAt: NOW + 5000 } as const;
      const r = await recordAttempts(f.db, [outcome('dlv_1', { statusCode: 503, error: 'HTTP 503', next })], undefined, NOW);
      assert.deepEqual(r.exhausted, []);
      const d = await f.storedDelivery('dlv_1');
      assert.deepEqual(
        [d?.status, d?.attempts, d?.due_at, d?.lease_token, d?.last_status_code, d?.last_error],
        [DeliveryStatus.InProgress, 1, NOW + 5000, null, 503, 'HTTP 503'],
      );
      assert.equal(await f.eventStatus('evt_dlv_1'), EventStatus.InProgress);
    });

    it('giving up fails the delivery, reports it exhausted, and its event fails once nothing is in progress', async () => {
      await f.event('evt_1', 'ta');
      await f.delivery('dlv_ok', { endpoint: 'ep_a', event: 'evt_1', status: DeliveryStatus.Succeeded });
      await f.delivery('dlv_1', { endpoint: 'ep_a', event: 'evt_1', leaseToken: 'mine', attempts: 4 });
      const r = await recordAttempts(
        f.db,
        [outcome('dlv_1', { eventId: 'evt_1', attempt: 5, statusCode: 500, next: { status: DeliveryStatus.Failed } })],
        undefined,
        NOW,
      );
      assert.deepEqual(r.exhausted, [{ deliveryId: 'dlv_1', endpointId: 'ep_a' }]);
      const d = await f.storedDelivery('dlv_1');
      assert.deepEqual([d?.status, d?.attempts, d?.due_at, d?.lease_token], [DeliveryStatus.Failed, 5, null, null]);
      assert.equal(await f.eventStatus('evt_1'), EventStatus.Failed);
    });

    it('recording with a stale lease token changes nothing but the attempt log', async () => {
      // Our lease ran out and another worker took the delivery: the newer owner decides its state.
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: 'theirs', dueAt: NOW + 20_000, attempts: 1 });
      const before = await f.storedDelivery('dlv_1');
      for (const next of [
        { status: DeliveryStatus.Succeeded },
        { status: DeliveryStatus.Failed },
        { status: DeliveryStatus.InProgress, dueAt: NOW + 1 },
      ] as const) {
        const r = await recordAttempts(
          f.db,
          [outcome('dlv_1', { attempt: 2, statusCode: next.status === DeliveryStatus.Succeeded ? 500 : 502, next })],
          undefined,
          NOW,
        );
        assert.deepEqual(r.exhausted, []);
      }
      assert.deepEqual(await f.storedDelivery('dlv_1'), before);
      assert.equal((await attemptsOf('dlv_1')).length, 3, 'what was sent is still logged');
      assert.equal(await f.eventStatus('evt_dlv_1'), EventStatus.InProgress);
    });

    it('records a 2xx as delivered when no worker holds the delivery any more', async () => {
      // The lease was handed back (a stop), or the endpoint deleted mid-flight: nobody will send it again.
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: null, dueAt: NOW });
      await recordAttempts(f.db, [outcome('dlv_1')], undefined, NOW);
      assert.equal((await f.storedDelivery('dlv_1'))?.status, DeliveryStatus.Succeeded);
      assert.equal(await f.eventStatus('evt_dlv_1'), EventStatus.Succeeded);
    });

    it('does not record a failure for a delivery no worker holds', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: null, dueAt: NOW });
      const before = await f.storedDelivery('dlv_1');
      await recordAttempts(f.db, [outcome('dlv_1', { statusCode: 500, next: { status: DeliveryStatus.Failed } })], undefined, NOW);
      assert.deepEqual(await f.storedDelivery('dlv_1'), before);
    });

    it('a delivery not tried counts no attempt and keeps the status code of its last real attempt', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: 'mine', attempts: 3, lastStatusCode: 410 });
      const r = await recordAttempts(
        f.db,
        [
          outcome('dlv_1', {
            attempted: false,
            durationMs: 0,
            statusCode: null,
            error: 'endpoint disabled',
            responseBody: null,
            next: { status: DeliveryStatus.Failed },
          }),
        ],
        undefined,
        NOW,
      );
      const d = await f.storedDelivery('dlv_1');
      assert.deepEqual([d?.status, d?.attempts, d?.last_status_code, d?.last_error], [DeliveryStatus.Failed, 3, 410, 'endpoint disabled']);
      assert.deepEqual(await attemptsOf('dlv_1'), [], 'no request, no attempt row');
      assert.deepEqual(r.exhausted, [{ deliveryId: 'dlv_1', endpointId: 'ep_a' }]);
    });

    it('leaves out the outcomes of deliveries that vanished and records the rest of the batch', async () => {
      await f.tenant('tb');
      await f.endpoint('ep_b', 'tb');
      await f.delivery('dlv_kept', { endpoint: 'ep_a', leaseToken: 'mine' });
      await f.delivery('dlv_gone', { endpoint: 'ep_b', leaseToken: 'mine' });
      // Tenant b deleted while the requests were in flight: its endpoint, events and deliveries go.
      await f.db.run(`DELETE FROM tenants WHERE id = 'tb'`);
      const r = await recordAttempts(f.db, [outcome('dlv_gone', { endpointId: 'ep_b' }), outcome('dlv_kept')], undefined, NOW);
      assert.deepEqual(r.unrecorded, []);
      assert.equal((await f.storedDelivery('dlv_kept'))?.status, DeliveryStatus.Succeeded);
      assert.equal((await attemptsOf('dlv_kept')).length, 1);
      assert.deepEqual(await attemptsOf('dlv_gone'), []);
    });

    it('writes the rest of a batch when one outcome cannot be written', async () => {
      for (const id of ['dlv_1', 'dlv_2', 'dlv_3']) await f.delivery(id, { endpoint: 'ep_a', leaseToken: 'mine' });
      // No attempt number (NOT NULL): the batch fails, and the others are written one by one.
      const bad = outcome('dlv_2', { attempt: null as unknown as number });
      const r = await recordAttempts(f.db, [outcome('dlv_1'), bad, outcome('dlv_3')], undefined, NOW);
      assert.deepEqual(
        r.unrecorded.map((u) => u.outcome),
        [bad],
      );
      const statuses = await f.db.all<{ id: string; status: string }>('SELECT id, status FROM deliveries ORDER BY id');
      assert.deepEqual(
        statuses.map((d) => [d.id, d.status]),
        [
          ['dlv_1', 'S'],
          ['dlv_2', 'I'],
          ['dlv_3', 'S'],
        ],
      );
    });

    it('updates the endpoint’s health with the attempts when given a policy', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: 'mine' });
      const r = await recordAttempts(
        f.db,
        [outcome('dlv_1', { statusCode: 500, next: { status: DeliveryStatus.InProgress, dueAt: NOW + 1000 } })],
        { threshold: 1, cooldownMs: 10_000, disableAfterMs: 86_400_000 },
        NOW,
      );
      assert.deepEqual(r.transitions, [{ kind: 'failing', endpointId: 'ep_a', failures: 1 }]);
      assert.deepEqual(await f.health('ep_a'), {
        consecutive_failures: 1,
        failing_since: NOW - 10,
        circuit_open_until: NOW - 10 + 10_000,
        enabled: 1,
        disabled_reason: null,
        disabled_at: null,
      });
    });

    it('records a batch larger than one statement holds', async () => {
      // 601 outcomes: seven statements of attempt rows (100 each) and two of delivery updates (500).
      const ids = Array.from({ length: 601 }, (_, i) => `dlv_${String(i).padStart(4, '0')}`);
      await f.manyDeliveries(
        'ep_a',
        'evt_bulk',
        ids.map((id) => ({ id, leaseToken: 'mine', dueAt: NOW + 30_000 })),
      );
      const outcomes = ids.map((id, i) =>
        outcome(id, {
          eventId: 'evt_bulk',
          attempt: 1,
          statusCode: 200 + (i % 7),
          next: i % 3 ? { status: DeliveryStatus.Succeeded } : { status: DeliveryStatus.InProgress, dueAt: NOW + i },
        }),
      );
      await recordAttempts(f.db, outcomes, undefined, NOW);
      const rows = await f.db.all<{ id: string; status: string; due_at: number | null; last_status_code: number }>(
        'SELECT id, status, due_at, last_status_code FROM deliveries ORDER BY id',
      );
      assert.deepEqual(
        rows.map((r) => [r.id, r.status, r.due_at, r.last_status_code]),
        ids.map((id, i) => [id, i % 3 ? 'S' : 'I', i % 3 ? null : NOW + i, 200 + (i % 7)]),
      );
      const logged = await f.db.all<{ delivery_id: string; status_code: number }>(
        'SELECT delivery_id, status_code FROM attempts ORDER BY delivery_id',
      );
      assert.deepEqual(
        logged.map((a) => [a.delivery_id, a.status_code]),
        ids.map((id, i) => [id, 200 + (i % 7)]),
      );
    });
  });

  describe(`handing deliveries back (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.endpoint('ep_a', 'ta');
    });

    it('deferring makes a delivery due later without counting an attempt', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: 'mine', dueAt: NOW + 30_000, attempts: 2 });
      await deferDeliveries(f.db, [{ id: 'dlv_1', leaseToken: 'mine', dueAt: NOW + 250 }]);
      const d = await f.storedDelivery('dlv_1');
      assert.deepEqual([d?.status, d?.attempts, d?.due_at, d?.lease_token], [DeliveryStatus.InProgress, 2, NOW + 250, null]);
    });

    it('deferring with a stale lease token changes nothing', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: 'theirs', dueAt: NOW + 30_000 });
      const before = await f.storedDelivery('dlv_1');
      await deferDeliveries(f.db, [{ id: 'dlv_1', leaseToken: 'mine', dueAt: NOW + 250 }]);
      assert.deepEqual(await f.storedDelivery('dlv_1'), before);
    });

    it('defers a fan-out larger than one statement, each delivery to its own time', async () => {
      const ids = Array.from({ length: 1001 }, (_, i) => `dlv_${String(i).padStart(4, '0')}`);
      await f.manyDeliveries(
        'ep_a',
        'evt_bulk',
        ids.map((id) => ({ id, leaseToken: 'mine', dueAt: NOW + 30_000 })),
      );
      await deferDeliveries(
        f.db,
        ids.map((id, i) => ({ id, leaseToken: 'mine', dueAt: NOW + i })),
      );
      const rows = await f.db.all<{ id: string; due_at: number; lease_token: string | null }>(
        'SELECT id, due_at, lease_token FROM deliveries ORDER BY id',
      );
      assert.deepEqual(
        rows.map((r) => [r.id, r.due_at, r.lease_token]),
        ids.map((id, i) => [id, NOW + i, null]),
      );
    });

    it('releasing leases makes what this worker holds due now and leaves other workers’ leases alone', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: 'mine-1', dueAt: NOW + 30_000 });
      await f.delivery('dlv_2', { endpoint: 'ep_a', leaseToken: 'mine-2', dueAt: NOW + 30_000 });
      await f.delivery('dlv_3', { endpoint: 'ep_a', leaseToken: 'theirs', dueAt: NOW + 30_000 });
      // A finished delivery is not in progress any more, whatever its lease column says.
      await f.delivery('dlv_4', { endpoint: 'ep_a', leaseToken: 'mine-1', status: DeliveryStatus.Failed, dueAt: null });
      assert.equal(await releaseLeases(f.db, ['mine-1', 'mine-2', 'mine-3'], NOW), 2);
      const rows = await f.db.all<{ id: string; due_at: number | null; lease_token: string | null }>(
        'SELECT id, due_at, lease_token FROM deliveries ORDER BY id',
      );
      assert.deepEqual(
        rows.map((r) => [r.id, r.due_at, r.lease_token]),
        [
          ['dlv_1', NOW, null],
          ['dlv_2', NOW, null],
          ['dlv_3', NOW + 30_000, 'theirs'],
          ['dlv_4', null, 'mine-1'],
        ],
      );
    });

    it('releases more leases than one statement holds', async () => {
      const tokens = Array.from({ length: 1001 }, (_, i) => `lease-${i}`);
      await f.manyDeliveries(
        'ep_a',
        'evt_bulk',
        tokens.map((leaseToken, i) => ({ id: `dlv_${i}`, leaseToken, dueAt: NOW + 30_000 })),
      );
      assert.equal(await releaseLeases(f.db, tokens, NOW), 1001);
      assert.equal(
        Number((await f.db.one<{ n: number }>('SELECT COUNT(*) AS n FROM deliveries WHERE lease_token IS NULL AND due_at = $1', [NOW]))?.n),
        1001,
      );
    });

    it('releasing nothing changes nothing', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', leaseToken: 'mine', dueAt: NOW + 30_000 });
      assert.equal(await releaseLeases(f.db, [], NOW), 0);
      assert.equal((await f.storedDelivery('dlv_1'))?.lease_token, 'mine');
    });
  });
}
