import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type AttemptResult, type HealthPolicy, probeNow, updateEndpointHealth } from '../../src/endpoints/health.js';
import { DIALECTS } from '../helpers/db.js';
import { NOW, QueueFixture } from '../helpers/queue.js';

// The circuit arithmetic of endpoint health, called directly on both dialects at a fixed clock.
const POLICY: HealthPolicy = { threshold: 3, cooldownMs: 10_000, disableAfterMs: 86_400_000 };
const HOUR = 3600_000;

for (const dialect of DIALECTS) {
  describe(`endpoint health (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
    });

    const fail = (at: number, statusCode: number | null = 500): AttemptResult => ({ endpointId: 'ep_a', ok: false, statusCode, at });
    const succeed = (at: number): AttemptResult => ({ endpointId: 'ep_a', ok: true, statusCode: 200, at });
    const update = (results: AttemptResult[], policy = POLICY) => updateEndpointHealth(f.db, results, policy);

    it('counts failures below the threshold and keeps the circuit closed', async () => {
      await f.endpoint('ep_a', 'ta');
      assert.deepEqual(await update([fail(NOW), fail(NOW + 1)]), []);
      assert.deepEqual(await f.health('ep_a'), {
        consecutive_failures: 2,
        failing_since: NOW,
        circuit_open_until: null,
        enabled: 1,
        disabled_reason: null,
        disabled_at: null,
      });
    });

    it('opens the circuit for the cooldown at the threshold, and reports the endpoint failing once', async () => {
      await f.endpoint('ep_a', 'ta');
      assert.deepEqual(await update([fail(NOW), fail(NOW + 1), fail(NOW + 2)]), [{ kind: 'failing', endpointId: 'ep_a', failures: 3 }]);
      assert.deepEqual(await f.health('ep_a'), {
        consecutive_failures: 3,
        failing_since: NOW,
        circuit_open_until: NOW + 2 + 10_000,
        enabled: 1,
        disabled_reason: null,
        disabled_at: null,
      });
      // The probe fails too: the circuit opens again from then, and nothing new is reported.
      assert.deepEqual(await update([fail(NOW + 20_000)]), []);
      assert.equal((await f.health('ep_a'))?.circuit_open_until, NOW + 20_000 + 10_000);
      assert.equal((await f.health('ep_a'))?.consecutive_failures, 4);
    });

    it('keeps the circuit open a quarter of the time the endpoint has been failing, at most an hour', async () => {
      await f.endpoint('ep_a', 'ta', { consecutiveFailures: 5, failingSince: NOW - 2 * HOUR });
      await update([fail(NOW)]);
      assert.equal((await f.health('ep_a'))?.circuit_open_until, NOW + HOUR / 2);
      await f.endpoint('ep_b', 'ta', { consecutiveFailures: 5, failingSince: NOW - 10 * HOUR });
      await update([{ ...fail(NOW), endpointId: 'ep_b' }]);
      assert.equal((await f.health('ep_b'))?.circuit_open_until, NOW + HOUR);
    });

    it('closes the circuit on a success, clears the count, and reports the recovery with since when it failed', async () => {
      await f.endpoint('ep_a', 'ta', { consecutiveFailures: 7, failingSince: NOW - HOUR, circuitOpenUntil: NOW - 1 });
      assert.deepEqual(await update([succeed(NOW)]), [{ kind: 'recovered', endpointId: 'ep_a', failingSince: NOW - HOUR }]);
      assert.deepEqual(await f.health('ep_a'), {
        consecutive_failures: 0,
        failing_since: null,
        circuit_open_until: null,
        enabled: 1,
        disabled_reason: null,
        disabled_at: null,
      });
    });

    it('a success of an endpoint that was not failing reports nothing', async () => {
      await f.endpoint('ep_a', 'ta');
      assert.deepEqual(await update([succeed(NOW)]), []);
    });

    it('applies a batch in the order the attempts finished, not the order given', async () => {
      await f.endpoint('ep_a', 'ta');
      await update([succeed(NOW + 5), fail(NOW + 1)]);
      assert.equal((await f.health('ep_a'))?.consecutive_failures, 0, 'the success came last');
      await update([fail(NOW + 9), succeed(NOW + 6)]);
      assert.deepEqual(
        [(await f.health('ep_a'))?.consecutive_failures, (await f.health('ep_a'))?.failing_since],
        [1, NOW + 9],
        'the failure came last',
      );
    });

    it('disables an endpoint that answers 410 Gone, with the reason and the time', async () => {
      await f.endpoint('ep_a', 'ta');
      assert.deepEqual(await update([fail(NOW, 410)]), [{ kind: 'disabled', endpointId: 'ep_a', reason: '410 Gone from the endpoint' }]);
      const h = await f.health('ep_a');
      assert.deepEqual([h?.enabled, h?.disabled_reason, h?.disabled_at], [0, '410 Gone from the endpoint', NOW]);
    });

    it('disables an endpoint failing without a success for longer than HERALD_DISABLE_AFTER', async () => {
      await f.endpoint('ep_a', 'ta', { consecutiveFailures: 40, failingSince: NOW - 86_400_000 });
      assert.deepEqual(await update([fail(NOW)]), [], 'exactly the limit is not beyond it');
      const transitions = await update([fail(NOW + 1)]);
      const reason = `failing since ${new Date(NOW - 86_400_000).toISOString()} without a success for more than 1d (HERALD_DISABLE_AFTER)`;
      assert.deepEqual(transitions, [{ kind: 'disabled', endpointId: 'ep_a', reason }]);
      const h = await f.health('ep_a');
      assert.deepEqual([h?.enabled, h?.disabled_reason, h?.disabled_at], [0, reason, NOW + 1]);
    });

    it('leaves the reason and time of an endpoint already disabled alone', async () => {
      await f.endpoint('ep_a', 'ta', { enabled: false, disabledReason: 'disabled by the tenant', disabledAt: NOW - 5 });
      assert.deepEqual(await update([fail(NOW, 410)]), []);
      const h = await f.health('ep_a');
      assert.deepEqual([h?.enabled, h?.disabled_reason, h?.disabled_at], [0, 'disabled by the tenant', NOW - 5]);
    });

    it('updates each endpoint of a batch on its own and skips one deleted meanwhile', async () => {
      await f.endpoint('ep_a', 'ta');
      await f.endpoint('ep_b', 'ta', { consecutiveFailures: 2, failingSince: NOW - 100 });
      const results = [fail(NOW), { ...fail(NOW), endpointId: 'ep_b' }, { ...fail(NOW), endpointId: 'ep_0_vanished' /* sorts first */ }];
      assert.deepEqual(await update(results), [{ kind: 'failing', endpointId: 'ep_b', failures: 3 }]);
      assert.deepEqual([(await f.health('ep_a'))?.consecutive_failures, (await f.health('ep_b'))?.consecutive_failures], [1, 3]);
    });

    it('half-opens an open circuit now, and leaves one already half-open alone', async () => {
      await f.endpoint('ep_a', 'ta', { circuitOpenUntil: NOW + 1000 });
      await f.endpoint('ep_b', 'ta', { circuitOpenUntil: NOW - 5 });
      await probeNow(f.db, 'ep_a', NOW);
      await probeNow(f.db, 'ep_b', NOW);
      assert.equal((await f.health('ep_a'))?.circuit_open_until, null);
      assert.equal((await f.health('ep_b'))?.circuit_open_until, NOW - 5);
    });
  });
}
