import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createHerald, type Herald } from '../src/herald.js';
import { createLogger } from '../src/log.js';
import { PgWakeups } from '../src/runtime/pgWakeups.js';
import { eventually, sleep, startHerald, type TestHerald } from './helpers/herald.js';
import { Receiver } from './helpers/receiver.js';

// Two nodes on one Postgres database: one runs only the API, the other only the worker, polling
// once a minute. Whatever the API node commits for a worker (an event's deliveries, a received
// webhook, a resend, a recovery) must reach the worker node through NOTIFY within a few
// milliseconds; the bounds below (5 s) are generous, but no poll of a minute could meet them.
// SQLite has no such thing: one process uses the database file and wakes its own worker.

/** What the worker node needs the whole test: it would otherwise find things at its start or by polling. */
const QUIET = { pollIntervalMs: 60_000, maintenanceIntervalMs: 60_000 };
const PROMPTLY = 5000;

describe('worker nodes on Postgres wake on NOTIFY', () => {
  let h: TestHerald;
  let worker: Herald;
  let rx: Receiver;
  let admin: pg.Client;
  /** What the receiver answers on /flaky: fail until told otherwise. */
  let flakyStatus = 500;

  const webhookIds = () => rx.received.map((r) => String(r.headers['webhook-id']));
  const received = (id: string, times = 1) =>
    rx.waitFor(() => webhookIds().filter((w) => w === id).length >= times, PROMPTLY, `${id} received ${times}×`);
  /** The backend pids of the listening connections on the test database. */
  const listeners = async () =>
    (
      await admin.query<{ pid: number; query: string }>(
        `SELECT pid, query FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'herald wake-ups'`,
      )
    ).rows;

  before(async () => {
    h = await startHerald('postgres', { HERALD_ROLES: 'api', HERALD_RETRY_SCHEDULE: '3600' });
    rx = await new Receiver((r) => ({ status: r.path === '/flaky' ? flakyStatus : 200 })).start();
    worker = await createHerald({ ...h.config, roles: { api: false, worker: true }, ...QUIET }, createLogger('silent'), {
      db: h.database.open(),
    });
    admin = new pg.Client({ connectionString: h.database.databaseUrl });
    await admin.connect();
    await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
    await h.api('POST', '/v1/tenants', { name: 'wake', uid: 'wake' });
    await h.api('POST', '/v1/tenants/wake/endpoints', { url: `${rx.url}/ok`, eventTypes: ['thing.happened'] });
    // The worker is listening (and has done the rounds of its start) before the first event.
    await eventually(async () => (await listeners()).some((l) => /LISTEN/i.test(l.query)), 10_000, 'the worker node listening');
    await sleep(200);
  });
  after(async () => {
    await admin?.end();
    await worker?.stop();
    await worker?.db.close();
    await h?.close();
    await rx?.stop();
  });

  const post = async (payload: unknown) => {
    const r = await h.api('POST', '/v1/tenants/wake/events', { type: 'thing.happened', payload });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    return r.body.id as string;
  };

  it('only the worker node listens; the API node does not', async () => {
    assert.equal((await listeners()).length, 1);
  });

  it('an event accepted by the API node is delivered by the worker node at once', async () => {
    // Pickup: from the API node's answer (the commit, and so the notification, came just before)
    // to the endpoint receiving the delivery; end to end: from the request being sent.
    const pickups: number[] = [];
    const endToEnd: number[] = [];
    for (let i = 0; i < 50; i++) {
      const sent = Date.now();
      const id = await post({ i });
      const answered = Date.now();
      await received(id);
      const at = rx.received.find((r) => r.headers['webhook-id'] === id)!.at;
      pickups.push(Math.max(0, at - answered));
      endToEnd.push(at - sent);
      // Let the worker's own round after the delivery finish, so the next event is found by the
      // notification, not by that round.
      await sleep(20);
    }
    const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.ceil((p / 100) * xs.length) - 1];
    console.log(
      `# worker-only node woken by NOTIFY, ${pickups.length} events: pickup (202 answered → endpoint received) p50 ${pct(pickups, 50)} ms, p99 ${pct(pickups, 99)} ms; end to end (posted → received) p50 ${pct(endToEnd, 50)} ms, p99 ${pct(endToEnd, 99)} ms`,
    );
  });

  it('a webhook received by the API node is processed by the worker node at once', async () => {
    const src = (await h.api('POST', '/v1/tenants/wake/sources', { provider: 'token', name: 't', secret: 'tok' })).body;
    const ep = (await h.api('POST', '/v1/tenants/wake/endpoints', { url: `${rx.url}/forwarded` })).body;
    const res = await fetch(`${h.url}/in/${src.id}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-webhook-token': 'tok' },
      body: JSON.stringify({ type: 'ping' }),
    });
    assert.equal(res.status, 200);
    const { id } = (await res.json()) as { id: string };
    // Processed by the worker's inbound processor, and its forwarded event delivered by its worker.
    await rx.waitFor((rs) => rs.some((r) => r.path === '/forwarded'), PROMPTLY, 'the forwarded event');
    assert.equal((await h.api('GET', `/v1/tenants/wake/inbound/${id}`)).body.status, 'processed');
    await h.api('DELETE', `/v1/tenants/wake/endpoints/${ep.id}`);
  });

  it('a resend made on the API node is sent by the worker node at once', async () => {
    const id = await post({ resend: true });
    await received(id);
    const event = (await h.api('GET', `/v1/tenants/wake/events/${id}`)).body;
    await eventually(async () => (await h.api('GET', `/v1/tenants/wake/events/${id}`)).body.status === 'S', 5000, 'the attempt recorded');
    const delivery = event.deliveries[0].id;
    await sleep(100);
    assert.equal((await h.api('POST', `/v1/tenants/wake/deliveries/${delivery}/resend`)).status, 202);
    await received(id, 2);
  });

  it('a recovery started on the API node is run by the worker node at once', async () => {
    const ep = (await h.api('POST', '/v1/tenants/wake/endpoints', { url: `${rx.url}/flaky`, eventTypes: ['thing.happened'] })).body;
    const since = new Date(Date.now() - 1000).toISOString();
    const id = await post({ recover: true });
    // The first attempt fails; the next is an hour away (HERALD_RETRY_SCHEDULE=3600).
    await rx.waitFor((rs) => rs.some((r) => r.path === '/flaky' && r.headers['webhook-id'] === id), PROMPTLY, 'the failing attempt');
    await eventually(
      async () =>
        (await h.api('GET', `/v1/tenants/wake/events/${id}`)).body.deliveries.some((d: any) => d.attempts === 1 && d.nextAttemptAt),
      5000,
      'the failed attempt recorded',
    );
    flakyStatus = 200;
    const recovery = await h.api('POST', `/v1/tenants/wake/endpoints/${ep.id}/recover`, { since });
    assert.equal(recovery.status, 202, JSON.stringify(recovery.body));
    assert.equal(recovery.body.waiting, 1);
    // Maintenance on the worker node moves it due, and its delivery worker sends it.
    await rx.waitFor(
      (rs) => rs.filter((r) => r.path === '/flaky' && r.headers['webhook-id'] === id).length === 2,
      PROMPTLY,
      'the recovered attempt',
    );
    await h.api('DELETE', `/v1/tenants/wake/endpoints/${ep.id}`);
  });

  it('a listener keeps trying while the database is out of reach, and stops without waiting for it', async () => {
    const nowhere = new URL(h.database.databaseUrl!);
    nowhere.port = '1';
    let woken = 0;
    const w = new PgWakeups(
      () => new pg.Client({ connectionString: nowhere.toString() }),
      { deliveries: () => woken++ },
      createLogger('silent'),
      {
        minBackoffMs: 10,
        maxBackoffMs: 40,
      },
    );
    w.start();
    await sleep(300);
    assert.equal(w.listening, false);
    await w.stop();
    assert.equal(woken, 0);
  });

  it('the listening connection is replaced when it is terminated, and wakes the worker again', async () => {
    const [before] = await listeners();
    await admin.query('SELECT pg_terminate_backend($1)', [before.pid]);
    await eventually(
      async () => (await listeners()).some((l) => l.pid !== before.pid && /LISTEN/i.test(l.query)),
      10_000,
      'a new listening connection',
    );
    assert.equal((await listeners()).length, 1);
    // Its first wake-up (for what it may have missed) is past; the next event needs a notification.
    await sleep(200);
    const id = await post({ after: 'reconnect' });
    await received(id);
  });
});
