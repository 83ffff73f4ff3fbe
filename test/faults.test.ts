import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startEmbeddedPostgres } from '../scripts/embedded-postgres.mjs';
import { DIALECTS, TEST_SECRET_KEY } from './helpers/db.js';
import { eventually, sleep, startHerald, type TestHerald } from './helpers/herald.js';
import { spawnHerald } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

for (const dialect of DIALECTS) {
  describe(`an endpoint that goes down and comes back (${dialect})`, () => {
    let h: TestHerald;
    let rx: Receiver;
    before(async () => {
      rx = await new Receiver().start();
      // A circuit that opens after 5 failures in a row, with short cooldowns (0.2 s, doubling).
      h = await startHerald(dialect, {
        HERALD_RETRY_SCHEDULE: Array(12).fill('0.5').join(','),
        HERALD_CIRCUIT_THRESHOLD: '5',
        HERALD_CIRCUIT_COOLDOWN: '0.2',
        HERALD_OPERATOR_WEBHOOK_URL: `${rx.url}/ops`,
      });
    });
    after(async () => {
      await h.close();
      await rx.stop();
    });

    it('drains the backlog once the endpoint answers again, and loses nothing', async () => {
      let down = true;
      rx.respond = (r) => (r.path === '/down' && down ? { status: 503 } : { status: 200 });
      const toDown = () => rx.received.filter((r) => r.path === '/down');
      await h.api('POST', '/v1/event-types', { name: 'thing.happened' });
      await h.api('POST', '/v1/tenants', { name: 'down', uid: 'down' });
      await h.api('POST', '/v1/tenants/down/endpoints', { url: `${rx.url}/down` });
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await h.api('POST', '/v1/tenants/down/events/batch', {
          events: Array.from({ length: 50 }, (_, j) => ({ type: 'thing.happened', payload: { n: i * 50 + j } })),
        });
        ids.push(...r.body.data.map((e: any) => e.id));
      }
      await sleep(2500);
      const whileDown = toDown().length;
      // The circuit breaker: after 5 failures in a row the endpoint gets only probes. Without it,
      // 200 events retried every 0.5 s would have made about a thousand requests by now.
      assert.ok(whileDown < 400, `the open circuit held back the load on the dead endpoint (${whileDown} requests)`);
      down = false;
      await eventually(
        async () => (await h.api('GET', '/v1/tenants/down/events?status=I&limit=1')).body.data.length === 0,
        20_000,
        'the backlog to drain',
      );
      const failed = (await h.api('GET', '/v1/tenants/down/events?status=F&limit=1')).body.data;
      assert.deepEqual(failed, [], 'no event gave up');
      const delivered = new Set(
        toDown()
          .slice(whileDown)
          .map((r) => r.headers['webhook-id']),
      );
      for (const id of ids) assert.ok(delivered.has(id), `${id} arrived after the endpoint came back`);

      // The operator heard about it, through Herald itself (signed, with the operator tenant's token).
      await rx.waitFor(
        (r) => r.some((x) => x.path === '/ops' && JSON.parse(x.body).type === 'endpoint.recovered'),
        10_000,
        'endpoint.recovered',
      );
      const ops = rx.received.filter((r) => r.path === '/ops').map((r) => JSON.parse(r.body));
      assert.ok(
        ops.some((e) => e.type === 'delivery.failing' && e.data.consecutiveFailures === 5),
        'delivery.failing was sent',
      );
      assert.ok(ops.every((e) => e.data.environment === 'sandbox'));
      assert.ok(rx.received.find((r) => r.path === '/ops')!.headers['webhook-signature']);
    });
  });
}

describe('Postgres restarting under load', () => {
  it('reconnects by itself and delivers every accepted event', { timeout: 120_000 }, async () => {
    const pg = await startEmbeddedPostgres({ persistent: true });
    const rx = await new Receiver().start();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: pg.url,
      HERALD_SECRET_KEY: TEST_SECRET_KEY,
      HERALD_PORT: '0',
      HERALD_LOG_LEVEL: 'error',
      HERALD_LEASE_SECONDS: '3',
      HERALD_DELIVERY_TIMEOUT: '2',
      HERALD_POLL_INTERVAL_MS: '200',
      HERALD_RETRY_SCHEDULE: '0.5,1,1,1,1,1,1',
    };
    const herald = await spawnHerald(env);
    try {
      const key = /sandbox\s+(sk_test_\S+)/.exec(herald.stdout())![1];
      const base = herald.base;
      const call = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(base + path, {
          method,
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: body ? JSON.stringify(body) : undefined,
        });
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
          const r = await call('POST', '/v1/tenants/load/events', { type: 'load.item', payload: { n: n++ } }).catch(() => ({
            status: 0,
            headers: new Headers(),
            body: null,
          }));
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
      assert.ok(
        before > 0 && afterRestart > 0,
        `events were accepted before (${before}) and after (${afterRestart}) the restart; answers ${JSON.stringify([...statuses])}; stderr: ${herald.stderr().slice(-1500)}`,
      );
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
