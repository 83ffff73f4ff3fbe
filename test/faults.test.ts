import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
import { DIALECTS, TEST_SECRET_KEY } from './helpers/db.js';
import { eventually, sleep, startHerald, type TestHerald } from './helpers/herald.js';
import { freePort, spawnHerald } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

for (const dialect of DIALECTS) {
  describe(`an endpoint that goes down and comes back (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      h = await startHerald(dialect, { HERALD_RETRY_SCHEDULE: Array(12).fill('0.5').join(',') });
      rx = await new Receiver().start();
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it('drains the backlog once the endpoint answers again, and loses nothing', async () => {
      let down = true;
      rx.respond = () => (down ? { status: 503 } : { status: 200 });
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
      await h.api('POST', '/v1/tenants', { name: 'down', uid: 'down' });
      await h.api('POST', '/v1/tenants/down/endpoints', { url: `${rx.url}/down` });
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await h.api('POST', '/v1/tenants/down/events/batch', { events: Array.from({ length: 50 }, (_, j) => ({ type: 'thing.happened', payload: { n: i * 50 + j } })) });
        ids.push(...r.body.data.map((e: any) => e.id));
      }
      await sleep(2500);
      assert.ok(rx.received.length >= 200, 'every event was tried while the endpoint was down');
      down = false;
      const delivered = () => new Set(rx.received.filter((r) => r === r && !down).map((r) => r.headers['webhook-id']));
      await eventually(async () => (await h.api('GET', '/v1/tenants/down/events?status=I&limit=1')).body.data.length === 0, 15_000, 'the backlog to drain');
      const failed = (await h.api('GET', '/v1/tenants/down/events?status=F&limit=1')).body.data;
      assert.deepEqual(failed, [], 'no event gave up');
      assert.ok(delivered().size >= 200);
    });
  });
}

describe('Postgres restarting under load', () => {
  it('reconnects by itself and delivers every accepted event', { timeout: 120_000 }, async () => {
    const pg = await startEmbeddedPostgres({ persistent: true });
    const rx = await new Receiver().start();
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: pg.url,
      HERALD_SECRET_KEY: TEST_SECRET_KEY,
      HERALD_PORT: String(port),
      HERALD_LOG_LEVEL: 'error',
      HERALD_LEASE_SECONDS: '3',
      HERALD_POLL_INTERVAL_MS: '200',
      HERALD_RETRY_SCHEDULE: '0.5,1,1,1,1,1,1',
    };
    const herald = await spawnHerald(env);
    try {
      const key = /sandbox\s+(sk_test_\S+)/.exec(herald.stdout())![1];
      const base = `http://127.0.0.1:${port}`;
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
        return { status: res.status, headers: res.headers, body: (await res.json().catch(() => null)) as any };
      };
      await call('POST', '/v1/event-types', { name: 'load.item' });
      await call('POST', '/v1/tenants', { name: 'load', uid: 'load' });
      await call('POST', '/v1/tenants/load/endpoints', { url: `${rx.url}/load` });

      const accepted = new Set<string>();
      const statuses = new Map<number, number>();
      let stop = false;
      let n = 0;
      const poster = async () => {
        while (!stop) {
          const r = await call('POST', '/v1/tenants/load/events', { type: 'load.item', payload: { n: n++ } }).catch(() => ({ status: 0, headers: new Headers(), body: null }));
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          if (r.status === 202) accepted.add(r.body.id);
          if (r.status === 503) assert.ok(r.headers.get('retry-after'), 'a 503 says when to retry');
          await sleep(5);
        }
      };
      const posters = Array.from({ length: 4 }, poster);
      await sleep(1500);
      const before = accepted.size;
      await pg.stop(); // Postgres goes away under load…
      await sleep(1500);
      await pg.start(); // …and comes back
      await sleep(2500);
      stop = true;
      await Promise.all(posters);
      const afterRestart = accepted.size - before;
      assert.ok(before > 0 && afterRestart > 0, `events were accepted before (${before}) and after (${afterRestart}) the restart; answers ${JSON.stringify([...statuses])}; stderr: ${herald.stderr().slice(-1500)}`);
      assert.equal(statuses.get(500) ?? 0, 0, `no 500s: ${JSON.stringify([...statuses])}`);

      const seen = () => new Set(rx.received.map((r) => String(r.headers['webhook-id'])));
      await eventually(async () => [...accepted].every((id) => seen().has(id)), 30_000, 'every accepted event to arrive');
      const duplicates = rx.received.length - seen().size;
      console.log(`# accepted ${accepted.size}; answers ${JSON.stringify(Object.fromEntries(statuses))}; duplicates ${duplicates}`);
      assert.equal(herald.proc.exitCode, null, `Herald kept running; stderr: ${herald.stderr().slice(-2000)}`);
    } finally {
      herald.proc.kill('SIGTERM');
      await herald.exited;
      await rx.stop();
      await pg.stop();
    }
  });
});
