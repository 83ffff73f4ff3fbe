import assert from 'node:assert/strict';
import pg from 'pg';
import { after, before, describe, it } from 'node:test';
import type { Db, Queryable } from '../../src/db/db.js';
import { listMigrations } from '../../src/db/migrate.js';
import { type AttemptOutcome, recordAttempts } from '../../src/delivery/sql/recordAttempts.js';
import { resendDelivery } from '../../src/delivery/sql/resendDelivery.js';
import { startRecovery, stepRecovery } from '../../src/delivery/sql/recoverDeliveries.js';
import { DeliveryStatus } from '../../src/delivery/status.js';
import { deleteEndpoint } from '../../src/endpoints/endpoints.js';
import { insertEvents } from '../../src/events/eventWriter.js';
import { type Bucket, deliveryReport, failingEndpoints, reportByEventType } from '../../src/reports/deliveryReport.js';
import { countAccepted, latencyClass, rebuildTenantRollups } from '../../src/reports/sql/rollups.js';
import { DIALECTS } from '../helpers/db.js';
import { NOW, QueueFixture } from '../helpers/queue.js';
import { asRolledUp, cut, scanByEventType, scanFailingEndpoints, scanReport } from '../helpers/reportScan.js';

// The report rollups, on both dialects, against the report Herald computed before them (a scan of
// events, deliveries and attempts, kept in test/helpers/reportScan.ts): a seeded random mix of
// successes, failures, retries, stale leases, 2xx answers after the lease, resends, recoveries
// and an endpoint deletion, through the real SQL modules, with the reports compared after every
// step (counts equal, percentiles the oracle's cut to two significant digits). Then the backfill
// (migration 015's statements, and rebuildTenantRollups) must rebuild exactly what live
// maintenance wrote.

const HOUR = 3_600_000;
/** The first hour of the history: 30 hours before the fixed clock, on an hour. */
const H0 = Math.floor(NOW / HOUR) * HOUR - 30 * HOUR;
const TYPES = ['order.paid', 'order.refunded', 'kyc.updated'];
const ENDPOINTS = ['ep_a', 'ep_b', 'ep_c', 'ep_d'];
const HEALTH = { threshold: 1_000_000, cooldownMs: 1000, disableAfterMs: 1e12 };

/** mulberry32: the same mix on every run and both dialects. */
function random(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Row {
  id: string;
  event_id: string;
  endpoint_id: string;
  tenant_id: string;
  type: string;
  status: DeliveryStatus;
  lease_token: string | null;
  attempts: number;
  created_at: number;
  done_at: number | null;
}

/** Every delivery of tenant ta, with its event's acceptance and its latest 2xx end (the report's facts). */
const deliveries = (q: Queryable) =>
  q
    .all<Row>(
      `SELECT d.id, d.event_id, d.endpoint_id, e.tenant_id, e.type, d.status, d.lease_token, d.attempts, e.created_at,
            (SELECT MAX(a.started_at + a.duration_ms) FROM attempts a WHERE a.delivery_id = d.id AND a.status_code >= 200 AND a.status_code < 300) AS done_at
       FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.tenant_id = 'ta' ORDER BY d.id`,
    )
    .then((rows) =>
      rows.map((r) => ({
        ...r,
        created_at: Number(r.created_at),
        done_at: r.done_at === null ? null : Number(r.done_at),
        attempts: Number(r.attempts),
      })),
    );

/** The rollup rows that count something, in key order. */
const rollups = (q: Queryable) =>
  q
    .all(
      `SELECT tenant_id, hour_start, event_type, endpoint_id, latency_ms, accepted, delivered, failed FROM delivery_rollups
      WHERE accepted <> 0 OR delivered <> 0 OR failed <> 0 ORDER BY tenant_id, hour_start, event_type, endpoint_id, latency_ms`,
    )
    .then((rows) =>
      rows.map((r) =>
        Object.fromEntries(
          Object.entries(r).map(([k, v]) => [k, typeof v === 'string' && /^-?\d+$/.test(v) && k !== 'event_type' ? Number(v) : v]),
        ),
      ),
    );

for (const dialect of DIALECTS) {
  describe(`report rollups (${dialect})`, () => {
    let f: QueueFixture;
    let db: Db;
    before(async () => {
      f = await QueueFixture.open(dialect);
      db = f.db;
    });
    after(() => f.close());

    it('cut latencies to two significant digits alike in SQL and in code', async () => {
      const values = [0, 1, 9, 10, 99, 100, 101, 109, 110, 999, 1000, 1099, 1234, 9999, 10_000, 12_345, 99_999, 123_456_789, 7_776_000_000];
      for (const ms of values) {
        const row = await db.one<{ c: number | string }>(
          `SELECT CASE WHEN x < 100 THEN x ELSE CAST(substr(CAST(x AS TEXT), 1, 2) || substr('0000000000000000000', 1, length(CAST(x AS TEXT)) - 2) AS BIGINT) END AS c
             FROM (SELECT CAST($1 AS BIGINT) AS x) t`,
          [ms],
        );
        assert.equal(Number(row!.c), latencyClass(ms), `${ms} ms`);
        assert.equal(latencyClass(ms), cut(ms));
      }
      assert.deepEqual([latencyClass(1234), latencyClass(99_999), latencyClass(42)], [1200, 99_000, 42]);
    });

    it(
      'add from concurrent transactions without deadlocking: the keys are written in one order',
      { skip: dialect !== 'postgres' },
      async () => {
        // Twelve transactions add to the same 600 rows at once, each handing them over in its own
        // random order, on connections of their own that do not retry a deadlock (db.tx would).
        const tenants = Array.from({ length: 8 }, (_, i) => `tc${i}`);
        for (const t of tenants) await f.tenant(t);
        const events = tenants.flatMap((tenantId) =>
          TYPES.flatMap((type) => Array.from({ length: 25 }, (_, h) => ({ tenantId, createdAt: H0 + h * HOUR + 1, event: { type } }))),
        );
        const rnd = random(7);
        const clients = await Promise.all(
          Array.from({ length: 12 }, async () => {
            const c = new pg.Client({ connectionString: f.database.databaseUrl });
            await c.connect();
            return c;
          }),
        );
        const failures: unknown[] = [];
        try {
          await Promise.all(
            clients.map(async (c) => {
              const q: Queryable = {
                dialect: 'postgres',
                where: 'test',
                all: async (sql, params) => (await c.query(sql, params)).rows,
                one: async (sql, params) => (await c.query(sql, params)).rows[0],
                run: async (sql, params) => (await c.query(sql, params)).rowCount ?? 0,
              };
              const mine = [...events].sort(() => rnd() - 0.5);
              try {
                await c.query('BEGIN');
                await countAccepted(q, mine);
                await c.query('COMMIT');
              } catch (err) {
                failures.push(err);
                await c.query('ROLLBACK');
              }
            }),
          );
        } finally {
          await Promise.all(clients.map((c) => c.end()));
        }
        assert.deepEqual(
          failures.map((e) => (e as { code?: string }).code),
          [],
        );
        const rows = await db.all<{ accepted: number }>(`SELECT accepted FROM delivery_rollups WHERE tenant_id LIKE 'tc%'`);
        assert.equal(rows.length, events.length);
        assert.ok(rows.every((r) => Number(r.accepted) === 12));
        // Rollups without events behind them: gone with their tenants, which the next test needs.
        await db.run(`DELETE FROM tenants WHERE id LIKE 'tc%'`);
        assert.equal((await db.all(`SELECT 1 FROM delivery_rollups WHERE tenant_id LIKE 'tc%'`)).length, 0);
      },
    );

    it('match the old scan through a random mix of every way a delivery changes, and the backfill rebuilds them', async () => {
      const rnd = random(20_261_123);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
      await f.tenant('ta');
      await f.tenant('tb');
      for (const ep of ENDPOINTS) await f.endpoint(ep, 'ta');
      await f.endpoint('ep_tb', 'tb');

      // 150 events over 30 hours, each to 1–4 endpoints; accepted counted as the event writer does,
      // in the transaction that writes them. Tenant tb has events too, to show none of them leak.
      for (let i = 0; i < 150; i++) {
        const tenant = i % 10 === 9 ? 'tb' : 'ta';
        const created = H0 + Math.floor(rnd() * 30 * HOUR);
        const type = pick(TYPES);
        const id = `evt_${String(i).padStart(4, '0')}`;
        await db.tx(async (q) => {
          await q.run(
            `INSERT INTO events (id, tenant_id, type, payload, status, occurred_at, created_at) VALUES ($1, $2, $3, '{}', 'I', $4, $4)`,
            [id, tenant, type, created],
          );
          await countAccepted(q, [{ tenantId: tenant, createdAt: created, event: { type } }]);
          const targets = tenant === 'tb' ? ['ep_tb'] : ENDPOINTS.filter(() => rnd() < 0.6);
          for (const ep of targets) {
            await q.run(
              `INSERT INTO deliveries (id, event_id, endpoint_id, tenant_id, status, attempts, due_at, created_at, updated_at) VALUES ($1, $2, $3, $4, 'I', 0, $5, $6, $6)`,
              [`dlv_${id.slice(4)}_${ep}`, id, ep, tenant, NOW - 1000, created],
            );
          }
        });
      }
      // Events of the event writer itself (accepted now, by its own clock): the same rows.
      await db.tx((q) =>
        insertEvents(q, f.box, 'ta', [
          { type: 'order.paid', payload: '{}' },
          { type: 'kyc.updated', payload: '{}' },
        ]),
      );

      const from = H0 - HOUR;
      const to = Math.floor(Date.now() / HOUR) * HOUR + 2 * HOUR;
      const compare = async (label: string) => {
        for (const bucket of ['hour', 'day'] as Bucket[]) {
          const want = await scanReport(db, 'ta', from, to, bucket);
          assert.deepEqual(
            await deliveryReport(db, 'ta', from, to, bucket),
            { buckets: want.buckets.map(asRolledUp), totals: asRolledUp(want.totals) },
            `${label}: ${bucket}`,
          );
        }
        // A window of a few whole hours in the middle.
        const [a, b] = [H0 + 7 * HOUR, H0 + 19 * HOUR];
        const part = await scanReport(db, 'ta', a, b, 'hour');
        assert.deepEqual(
          await deliveryReport(db, 'ta', a, b, 'hour'),
          { buckets: part.buckets.map(asRolledUp), totals: asRolledUp(part.totals) },
          `${label}: part`,
        );
        assert.deepEqual(
          await reportByEventType(db, 'ta', from, to),
          (await scanByEventType(db, 'ta', from, to)).map(asRolledUp),
          `${label}: by event type`,
        );
        for (const first of [2, 10]) {
          assert.deepEqual(
            await failingEndpoints(db, 'ta', from, to, first),
            await scanFailingEndpoints(db, 'ta', from, to, first),
            `${label}: failing endpoints`,
          );
        }
      };
      await compare('accepted only');

      // What each step changed, as the report sees a delivery: its status and its latest 2xx.
      const seen = new Map<string, number>();
      const note = (before: Row[], after: Row[], how: string) => {
        const was = new Map(before.map((d) => [d.id, d]));
        for (const d of after) {
          const b = was.get(d.id)!;
          const kind =
            b.status !== d.status
              ? `${b.status}→${d.status} by ${how}`
              : d.status === 'S' && b.done_at !== d.done_at
                ? `S→S later 2xx by ${how}`
                : null;
          if (kind) seen.set(kind, (seen.get(kind) ?? 0) + 1);
        }
      };

      let token = 0;
      let started = NOW - 20 * HOUR;
      /** An outcome of delivery d: its end `latency` ms after acceptance (the first attempts end before it, some after). */
      const outcome = (
        d: Row,
        leaseToken: string,
        next: AttemptOutcome['next'],
        statusCode: number | null,
        attempted = true,
      ): AttemptOutcome => {
        const r = rnd();
        const latency =
          r < 0.05
            ? -Math.floor(rnd() * 500)
            : r < 0.12
              ? Math.floor(rnd() * 100)
              : r < 0.8
                ? 100 + Math.floor(rnd() * 3000)
                : 3000 + Math.floor(rnd() * 2 * HOUR);
        const durationMs = 1 + Math.floor(rnd() * 2000);
        started += 7; // no two attempts start in the same millisecond
        const end = Math.max(d.created_at + latency, started);
        return {
          deliveryId: d.id,
          eventId: d.event_id,
          endpointId: d.endpoint_id,
          owner: null,
          tenantId: d.tenant_id,
          eventType: d.type,
          eventCreatedAt: d.created_at,
          leaseToken,
          attempt: d.attempts + 1,
          startedAt: end - durationMs,
          durationMs,
          statusCode,
          error: statusCode !== null && statusCode < 300 ? null : 'failed',
          responseBody: null,
          next,
          attempted,
        };
      };
      const success = (d: Row, lease: string) => outcome(d, lease, { status: DeliveryStatus.Succeeded }, pick([200, 201, 204, 299]));
      const retry = (d: Row, lease: string) =>
        outcome(d, lease, { status: DeliveryStatus.InProgress, dueAt: NOW - 1 }, pick([500, 503, null]));
      const giveUp = (d: Row, lease: string) => outcome(d, lease, { status: DeliveryStatus.Failed }, pick([500, 404, 422]));

      let deleted = false;
      for (let step = 0; step < 60; step++) {
        const before = await deliveries(db);
        const live = before.filter((d) => !(deleted && d.endpoint_id === 'ep_c'));
        const r = rnd();
        let how: string;
        if (step === 30) {
          // Deleting an endpoint fails what it still had in progress, held by a worker or not;
          // the worker's answers then come back after the lease: a 2xx makes a failed one delivered.
          how = 'endpoint deletion';
          const held = live.filter((d) => d.endpoint_id === 'ep_c' && d.status === DeliveryStatus.InProgress).slice(0, 6);
          const lease = `lease_${++token}`;
          for (const d of held) await db.run('UPDATE deliveries SET lease_token = $2 WHERE id = $1', [d.id, lease]);
          await db.tx((q) => deleteEndpoint(q, 'ta', 'ep_c'));
          deleted = true;
          note(before, await deliveries(db), how);
          const late = await deliveries(db);
          await recordAttempts(
            db,
            late.filter((d) => held.some((h) => h.id === d.id)).map((d, i) => (i % 2 === 0 ? success(d, lease) : giveUp(d, lease))),
            HEALTH,
            NOW,
          );
          note(late, await deliveries(db), 'recording after the deletion');
          await compare(`step ${step}, ${how}`);
          continue;
        } else if (r < 0.55) {
          // A worker claims some due deliveries, sends them and records the batch. Among them,
          // answers for deliveries it does not hold: a stale lease (another worker took it), and
          // 2xx answers after the lease ended (in progress and free, failed, already delivered).
          how = 'recording';
          const free = live.filter((d) => d.status === DeliveryStatus.InProgress && d.lease_token === null);
          const claimed = free.filter(() => rnd() < 0.5).slice(0, 25);
          const lease = `lease_${++token}`;
          for (const d of claimed) await db.run('UPDATE deliveries SET lease_token = $2 WHERE id = $1', [d.id, lease]);
          const batch: AttemptOutcome[] = claimed.map((d) => {
            const x = rnd();
            return x < 0.5
              ? success(d, lease)
              : x < 0.8
                ? retry(d, lease)
                : x < 0.95
                  ? giveUp(d, lease)
                  : outcome(d, lease, { status: DeliveryStatus.Failed }, null, false);
          });
          const others = before.filter((d) => !claimed.includes(d));
          for (let i = 0; i < 4 && others.length; i++) {
            const d = pick(others);
            if (batch.some((o) => o.deliveryId === d.id)) continue;
            const y = rnd();
            batch.push(
              y < 0.5
                ? success(d, 'stale')
                : y < 0.7
                  ? retry(d, 'stale')
                  : y < 0.8
                    ? giveUp(d, 'stale')
                    : success(d, d.lease_token ?? 'stale'),
            );
          }
          if (rnd() < 0.3) {
            // Another worker holds some of them now (its lease replaced ours): our answers are stale.
            for (const d of claimed.filter(() => rnd() < 0.2))
              await db.run('UPDATE deliveries SET lease_token = $2 WHERE id = $1', [d.id, `other_${token}`]);
          }
          await recordAttempts(db, batch, HEALTH, NOW);
          // Leases nobody records any more run out: due again, free.
          await db.run(`UPDATE deliveries SET lease_token = NULL WHERE lease_token LIKE 'other_%' AND status = 'I'`);
        } else if (r < 0.8) {
          how = 'resend';
          const resendable = live.filter((d) => d.status !== DeliveryStatus.InProgress || d.lease_token === null);
          for (let i = 0; i < 3 && resendable.length; i++) await resendDelivery(db, 'ta', pick(resendable).id);
        } else {
          how = 'recovery';
          const ep = pick(ENDPOINTS.filter((e) => !(deleted && e === 'ep_c')));
          const since = H0 + Math.floor(rnd() * 20) * HOUR;
          await startRecovery(db, 'ta', ep, since, since + 15 * HOUR, NOW);
          // Batches of three until it is done, as the maintenance loop would take them.
          while (await stepRecovery(db, { batch: 3, leaseMs: 30_000, now: NOW }));
        }
        note(before, await deliveries(db), how);
        await compare(`step ${step}, ${how}`);
      }

      // Every way a delivery's place in the report changes happened at least once.
      const kinds = [...seen.keys()].sort();
      for (const kind of [
        'I→S by recording',
        'I→F by recording',
        'F→S by recording',
        'S→S later 2xx by recording',
        'S→I by resend',
        'F→I by resend',
        'F→I by recovery',
        'I→F by endpoint deletion',
        'F→S by recording after the deletion',
      ]) {
        assert.ok(seen.has(kind), `the mix never did ${kind}; it did ${kinds.join(', ')}`);
      }

      // The backfill rebuilds exactly what live maintenance wrote: migration 015's statements for
      // every tenant, rebuildTenantRollups for one.
      const live = await rollups(db);
      assert.ok(live.length > 50);
      const step015 = listMigrations(dialect).find((m) => m.id === 15)!;
      const backfill = step015.sql
        .split('\n')
        .map((l) => l.replace(/--.*$/, ''))
        .join('\n')
        .split(';')
        .map((s) => s.trim())
        .filter((s) => s.startsWith('INSERT'));
      assert.equal(backfill.length, 3);
      await db.tx(async (q) => {
        await q.run('DELETE FROM delivery_rollups');
        for (const s of backfill) await q.run(s);
      });
      assert.deepEqual(await rollups(db), live, 'migration 015 backfill');
      await db.run(`UPDATE delivery_rollups SET delivered = delivered + 5 WHERE tenant_id = 'ta'`);
      await rebuildTenantRollups(db, 'ta');
      assert.deepEqual(await rollups(db), live, 'rebuildTenantRollups');
      await compare('after the rebuild');
    });
  });
}
