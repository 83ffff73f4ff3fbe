import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { PostgresDb } from '../../../src/db/postgres.js';
import { type ClaimOptions, claimDueDeliveries } from '../../../src/delivery/sql/claimDueDeliveries.js';
import { DeliveryStatus } from '../../../src/delivery/status.js';
import { DIALECTS } from '../../helpers/db.js';
import { NOW, QueueFixture } from '../../helpers/queue.js';

// The claim query on its own, on both dialects, at a fixed clock: which deliveries a worker takes,
// and what taking them writes.
for (const dialect of DIALECTS) {
  describe(`claiming due deliveries (${dialect})`, () => {
    const f = QueueFixture.forEachTest(dialect, async (f) => {
      await f.tenant('ta');
      await f.tenant('tb');
      await f.endpoint('ep_a', 'ta');
      await f.endpoint('ep_b', 'tb');
    });

    const claim = async (opts: Partial<ClaimOptions> = {}) =>
      claimDueDeliveries(f.db, f.box, { limit: 10, leaseMs: 30_000, leaseToken: 'mine', now: NOW, ...opts });
    const claimedIds = async (opts: Partial<ClaimOptions> = {}) => (await claim(opts)).map((d) => d.id).sort();

    it('leases a due delivery: due at the end of the lease, stamped with the lease token', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', attempts: 2, scheduleStart: 1 });
      const [d] = await claim();
      assert.equal(d.id, 'dlv_1');
      const row = await f.storedDelivery('dlv_1');
      assert.deepEqual(
        [row?.due_at, row?.lease_token, row?.updated_at, row?.status],
        [NOW + 30_000, 'mine', NOW, DeliveryStatus.InProgress],
      );
      // Everything the worker needs to send, in one read: secrets and token opened.
      assert.deepEqual(d, {
        id: 'dlv_1',
        eventId: 'evt_dlv_1',
        endpointId: 'ep_a',
        tenantId: 'ta',
        leaseToken: 'mine',
        attempts: 2,
        scheduleStart: 1,
        type: 'thing.happened',
        payload: '{"n":1}',
        occurredAt: NOW - 60_000,
        createdAt: NOW - 60_000,
        endpointActive: true,
        endpointGone: null,
        url: 'http://127.0.0.1:9/ep_a',
        format: 'standard',
        headers: {},
        secrets: ['whsec_ep_a'],
        tenantToken: 'token-of-ta',
        traceParent: null,
        environment: 'sandbox',
        maxConcurrency: null,
        rateLimit: null,
        ordered: false,
        consecutiveFailures: 0,
        system: false,
        privateAllowed: false,
      });
    });

    it('claims a delivery due exactly now, and not one due a millisecond later', async () => {
      await f.delivery('dlv_now', { endpoint: 'ep_a', dueAt: NOW });
      await f.delivery('dlv_later', { endpoint: 'ep_a', dueAt: NOW + 1 });
      assert.deepEqual(await claimedIds(), ['dlv_now']);
      assert.equal((await f.storedDelivery('dlv_later'))?.lease_token, null);
    });

    it('a delivery leased by another worker is not claimed until its lease runs out', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', dueAt: NOW + 5000, leaseToken: 'theirs' });
      assert.deepEqual(await claimedIds(), []);
      assert.equal((await f.storedDelivery('dlv_1'))?.lease_token, 'theirs');
      // The other worker died: its lease ran out, and the delivery is anyone's again.
      assert.deepEqual(await claimedIds({ now: NOW + 5000 }), ['dlv_1']);
      assert.equal((await f.storedDelivery('dlv_1'))?.lease_token, 'mine');
    });

    it('never claims a delivery that succeeded or failed for good', async () => {
      await f.delivery('dlv_s', { endpoint: 'ep_a', status: DeliveryStatus.Succeeded, dueAt: NOW - 1 });
      await f.delivery('dlv_f', { endpoint: 'ep_a', status: DeliveryStatus.Failed, dueAt: NOW - 1 });
      assert.deepEqual(await claimedIds(), []);
    });

    it('takes at most the batch, oldest due first', async () => {
      for (let i = 1; i <= 5; i++) await f.delivery(`dlv_${i}`, { endpoint: 'ep_a', dueAt: NOW - 100 + (i % 2 ? i : 10 * i) });
      // Due: dlv_1 -99, dlv_3 -97, dlv_5 -95, dlv_2 -80, dlv_4 -60.
      assert.deepEqual(await claimedIds({ limit: 3 }), ['dlv_1', 'dlv_3', 'dlv_5']);
    });

    it('skips endpoints this node has saturated and finds what is due behind them', async () => {
      await f.delivery('dlv_a', { endpoint: 'ep_a', dueAt: NOW - 2 });
      await f.delivery('dlv_b', { endpoint: 'ep_b', dueAt: NOW - 1 });
      assert.deepEqual(await claimedIds({ skipEndpoints: ['ep_a'], limit: 1 }), ['dlv_b']);
    });

    it('skips an endpoint while its circuit is open and claims again once it half-opens', async () => {
      await f.endpoint('ep_open', 'ta', { circuitOpenUntil: NOW + 1, consecutiveFailures: 5 });
      await f.delivery('dlv_1', { endpoint: 'ep_open' });
      assert.deepEqual(await claimedIds(), []);
      const [d] = await claim({ now: NOW + 1 });
      assert.equal(d.id, 'dlv_1');
      assert.equal(d.consecutiveFailures, 5, 'the worker learns the endpoint is failing: it sends one probe at a time');
    });

    it('gives an ordered endpoint its next delivery only when no earlier one is in progress', async () => {
      await f.endpoint('ep_ord', 'ta', { ordered: true });
      // The first waits for a retry a minute from now: the second, due now, must wait behind it.
      await f.delivery('dlv_1', { endpoint: 'ep_ord', dueAt: NOW + 60_000, attempts: 1 });
      await f.delivery('dlv_2', { endpoint: 'ep_ord' });
      assert.deepEqual(await claimedIds(), []);
      await f.db.run(`UPDATE deliveries SET status = $2, due_at = NULL WHERE id = $1`, ['dlv_1', DeliveryStatus.Succeeded]);
      assert.deepEqual(await claimedIds(), ['dlv_2']);
    });

    it('sends an ordered endpoint’s deliveries one at a time, the earliest first', async () => {
      await f.endpoint('ep_ord', 'ta', { ordered: true });
      await f.delivery('dlv_1', { endpoint: 'ep_ord', dueAt: NOW - 1 });
      await f.delivery('dlv_2', { endpoint: 'ep_ord', dueAt: NOW - 2 });
      assert.deepEqual(await claimedIds(), ['dlv_1'], 'event order, not due order');
      assert.deepEqual(await claimedIds({ now: NOW + 1 }), [], 'the second waits while the first is being sent');
    });

    it('does not hold back an endpoint that is not ordered behind a delivery waiting for a retry', async () => {
      await f.delivery('dlv_1', { endpoint: 'ep_a', dueAt: NOW + 60_000, attempts: 1 });
      await f.delivery('dlv_2', { endpoint: 'ep_a' });
      assert.deepEqual(await claimedIds(), ['dlv_2']);
    });

    it('claims the deliveries of a disabled or deleted endpoint as inactive, with the reason', async () => {
      await f.endpoint('ep_gone', 'ta', { deletedAt: NOW - 10 });
      await f.endpoint('ep_410', 'ta', { enabled: false, disabledReason: '410 Gone from the endpoint' });
      await f.endpoint('ep_off', 'ta', { enabled: false });
      for (const ep of ['ep_gone', 'ep_410', 'ep_off']) await f.delivery(`dlv_${ep}`, { endpoint: ep });
      const got = Object.fromEntries((await claim()).map((d) => [d.endpointId, [d.endpointActive, d.endpointGone]]));
      assert.deepEqual(got, { ep_gone: [false, 'deleted'], ep_410: [false, '410 Gone from the endpoint'], ep_off: [false, 'disabled'] });
    });

    it('signs with earlier secrets only until their overlap ends, by the clock it is given', async () => {
      await f.endpoint('ep_rot', 'ta', {
        previousSecrets: [
          { secret: 'whsec_old', until: NOW + 1 },
          { secret: 'whsec_older', until: NOW },
        ],
      });
      await f.delivery('dlv_1', { endpoint: 'ep_rot' });
      assert.deepEqual((await claim())[0].secrets, ['whsec_ep_rot', 'whsec_old']);
    });

    it('hands a format "original" endpoint the request the event was forwarded from, byte for byte', async () => {
      await f.endpoint('ep_orig', 'ta', { format: 'original' });
      await f.source('src_1', 'ta', 'token');
      const body = Buffer.from([0x7b, 0x22, 0xff, 0x00, 0x7d]);
      await f.db.run(
        `INSERT INTO inbound_messages (id, source_id, tenant_id, status, headers, body, received_at) VALUES ('in_1', 'src_1', 'ta', 'processed', $1, $2, 0)`,
        [JSON.stringify({ 'x-provider': 'yes' }), body],
      );
      await f.event('evt_fwd', 'ta', { inboundId: 'in_1' });
      await f.delivery('dlv_orig', { endpoint: 'ep_orig', event: 'evt_fwd' });
      await f.delivery('dlv_std', { endpoint: 'ep_a', event: 'evt_fwd' });
      const byId = Object.fromEntries((await claim()).map((d) => [d.id, d]));
      assert.deepEqual(byId.dlv_orig.original?.headers, { 'x-provider': 'yes' });
      assert.ok(byId.dlv_orig.original?.body.equals(body));
      assert.equal(byId.dlv_std.original, undefined, 'other formats do not read the stored request');
    });

    /** Another node's transaction holding a delivery's row lock (Postgres), until `release`. */
    const holdRow = async (id: string) => {
      const other = await (f.db as PostgresDb).pool.connect();
      await other.query('BEGIN');
      await other.query('SELECT id FROM deliveries WHERE id = $1 FOR UPDATE', [id]);
      return async () => {
        await other.query('ROLLBACK');
        other.release();
      };
    };

    it('two workers claiming at once never take the same delivery', async () => {
      for (let i = 0; i < 30; i++)
        await f.delivery(`dlv_${String(i).padStart(2, '0')}`, { endpoint: i % 2 ? 'ep_a' : 'ep_b', dueAt: NOW - 100 + i });
      // On Postgres a third node holds the oldest row for a moment: a claim that waited for it
      // instead of skipping it would keep both claims in flight together, and both would take it.
      const release = dialect === 'postgres' ? await holdRow('dlv_00') : null;
      const claims = Promise.all([claimedIds({ leaseToken: 'one', limit: 20 }), claimedIds({ leaseToken: 'two', limit: 20 })]);
      await new Promise((r) => setTimeout(r, 300));
      await release?.();
      const [one, two] = await claims;
      assert.deepEqual(
        one.filter((id) => two.includes(id)),
        [],
        'no delivery in both batches',
      );
      // Each delivery is held by the worker whose batch answered it. (How many the second gets
      // depends on timing: a claim keeps its whole window locked until it commits.)
      const held = await f.db.all<{ id: string; lease_token: string }>(
        'SELECT id, lease_token FROM deliveries WHERE lease_token IS NOT NULL ORDER BY id',
      );
      assert.deepEqual(
        held,
        [...one.map((id) => ({ id, lease_token: 'one' })), ...two.map((id) => ({ id, lease_token: 'two' }))].sort((a, b) =>
          a.id < b.id ? -1 : 1,
        ),
      );
      assert.ok(one.length + two.length >= 20);
    });

    if (dialect === 'postgres') {
      it('skips a delivery another node is claiming at this instant instead of waiting for it', async () => {
        await f.delivery('dlv_locked', { endpoint: 'ep_a', dueAt: NOW - 2 });
        await f.delivery('dlv_free', { endpoint: 'ep_b', dueAt: NOW - 1 });
        const release = await holdRow('dlv_locked');
        try {
          const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('waited on the locked row'), 3000).unref());
          assert.deepEqual(await Promise.race([claimedIds(), timeout]), ['dlv_free']);
        } finally {
          await release();
        }
      });
    }
  });
}

// Fairness: which rows a batch takes when several tenants have deliveries due.
for (const dialect of DIALECTS) {
  describe(`the claim query shares a batch between tenants (${dialect})`, () => {
    let f: QueueFixture;
    before(async () => {
      f = await QueueFixture.open(dialect);
      // Tenant a has six due deliveries, older than b's two and c's one.
      let at = NOW - 1000;
      for (const [t, n] of [
        ['a', 6],
        ['b', 2],
        ['c', 1],
      ] as const) {
        await f.tenant(t);
        await f.endpoint(`ep_${t}`, t);
        for (let i = 1; i <= n; i++) await f.delivery(`dlv_${t}${i}`, { endpoint: `ep_${t}`, dueAt: at, createdAt: at++ });
      }
    });
    after(() => f.close());
    const claim = async (opts: Partial<ClaimOptions>) =>
      (await claimDueDeliveries(f.db, f.box, { limit: 4, leaseMs: 1000, leaseToken: `lease-${Math.random()}`, now: NOW, ...opts }))
        .map((d) => d.id)
        .sort();
    // Every claim below is undone (each delivery was due at its created_at), so each starts from the same table.
    beforeEach(() => f.db.run('UPDATE deliveries SET due_at = created_at, lease_token = NULL'));

    it('takes a batch round-robin across tenants rather than the oldest tenant’s backlog', async () => {
      // FIFO would take a1..a4; the window of 8 rows also holds b's two.
      assert.deepEqual(await claim({}), ['dlv_a1', 'dlv_a2', 'dlv_b1', 'dlv_b2']);
    });

    it('gives the tenants this node is least busy with the first turns, and none beyond its share', async () => {
      assert.deepEqual(await claim({ tenantLoads: { a: 3 }, tenantCap: 4 }), ['dlv_a1', 'dlv_b1', 'dlv_b2']);
    });

    it('skips tenants at their share and finds what is due behind them', async () => {
      assert.deepEqual(await claim({ skipTenants: ['a'] }), ['dlv_b1', 'dlv_b2', 'dlv_c1']);
    });
  });
}
