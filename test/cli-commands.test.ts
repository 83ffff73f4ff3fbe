import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS, freshDatabase, type TestDatabase } from './helpers/db.js';
import { eventually } from './helpers/herald.js';
import { type HeraldProcess, heraldEnv, runCli, spawnCli, spawnHerald } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

// `herald trigger`, `tail` and `recover`, each against a real Herald process over REST (HERALD_URL
// and HERALD_KEY) and on its database directly, with a real receiver on 127.0.0.1.
for (const dialect of DIALECTS) {
  describe(`herald trigger, tail and recover (${dialect})`, () => {
    let database: TestDatabase;
    let herald: HeraldProcess;
    let key: string;
    const receivers: Receiver[] = [];

    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(herald.base + path, {
        method,
        headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : null };
    };
    const modes = () => ({
      remote: { ...heraldEnv(database), HERALD_URL: herald.base, HERALD_KEY: key },
      local: heraldEnv(database),
    });
    /** A tenant with one endpoint at a fresh receiver. */
    const tenantWithEndpoint = async (uid: string, respond?: ConstructorParameters<typeof Receiver>[0]) => {
      assert.equal((await api('POST', '/v1/tenants', { name: uid, uid })).status, 201);
      const r = await new Receiver(respond).start();
      receivers.push(r);
      const ep = await api('POST', `/v1/tenants/${uid}/endpoints`, { url: `${r.url}/hook` });
      assert.equal(ep.status, 201);
      return { receiver: r, endpointId: ep.body.id as string };
    };

    before(async () => {
      database = await freshDatabase(dialect);
      herald = await spawnHerald(
        heraldEnv(database, {
          HERALD_POLL_INTERVAL_MS: '100',
          HERALD_RETRY_SCHEDULE: '1',
          HERALD_MAINTENANCE_INTERVAL_MS: '200',
          HERALD_CIRCUIT_THRESHOLD: '100',
        }),
      );
      key = /sandbox\s+(sk_test_\S+)/.exec(herald.stdout())![1];
      assert.equal((await api('POST', '/v1/event-types', { name: 'invoice.sent', example: { invoice: 'in_1', total: 990 } })).status, 201);
      assert.equal((await api('POST', '/v1/event-types', { name: 'bare.type' })).status, 201);
    });

    after(async () => {
      herald?.proc.kill('SIGTERM');
      await herald?.exited;
      await Promise.all(receivers.map((r) => r.stop()));
      await database?.drop();
    });

    for (const mode of ['remote', 'local'] as const) {
      it(`trigger sends the type's example as an event and says where to see it (${mode})`, async () => {
        const uid = `trig-${mode}`;
        const { receiver } = await tenantWithEndpoint(uid);
        const env = modes()[mode];
        const r = await runCli(['trigger', 'invoice.sent', '--tenant', uid], env);
        assert.equal(r.code, 0, r.stderr);
        const [, id] = /Sent invoice\.sent as event (evt_\S+) \(follow its deliveries with `herald tail --tenant trig-\w+`\)/.exec(
          r.stdout,
        )!;
        assert.match(r.stdout, new RegExp(`/v1/tenants/${uid}/events/${id}`));
        await receiver.waitForCount(1);
        assert.deepEqual(JSON.parse(receiver.received[0].body).data, { invoice: 'in_1', total: 990 });
        assert.equal(receiver.received[0].headers['webhook-id'], id);
        const ev = await api('GET', `/v1/tenants/${uid}/events/${id}`);
        assert.deepEqual(ev.body.payload, { invoice: 'in_1', total: 990 });

        const none = await runCli(['trigger', 'bare.type', '--tenant', uid], env);
        assert.equal(none.code, 1);
        assert.match(none.stderr, /event type "bare\.type" has no example payload: give one with --payload/);
        const given = await runCli(['trigger', 'bare.type', '--tenant', uid, '--payload', '{"n":1}', '--json'], env);
        assert.equal(given.code, 0, given.stderr);
        assert.equal(JSON.parse(given.stdout).type, 'bare.type');
        const nobody = await runCli(['trigger', 'invoice.sent', '--tenant', 'no-such-tenant'], env);
        assert.equal(nobody.code, 1);
        assert.match(nobody.stderr, /tenant "no-such-tenant" was not found/);
      });

      it(`tail prints each attempt as it is recorded: time, type, endpoint, status, duration (${mode})`, async () => {
        const uid = `tail-${mode}`;
        const { endpointId } = await tenantWithEndpoint(uid, (_r, n) => (n === 1 ? { status: 503 } : { status: 200 }));
        const env = modes()[mode];
        // From a minute back (the tenant is new): what is sent while it connects is not missed.
        const tail = spawnCli(['tail', '--tenant', uid, '--since', '1m'], env);
        await eventually(async () => tail.stderr().includes('Following the deliveries'), 15_000, 'tail to start');
        const sent = await api('POST', `/v1/tenants/${uid}/events`, { type: 'invoice.sent', payload: { invoice: 'in_2' } });
        assert.equal(sent.status, 202);
        const line = (status: string) =>
          new RegExp(`^\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z  invoice\\.sent  ${endpointId}  ${status}  \\d+ ms`, 'm');
        await tail.waitFor(line('503'));
        await tail.waitFor(line('200'));
        assert.equal(tail.stdout().trim().split('\n').length, 2, tail.stdout());
        tail.proc.kill('SIGINT');
        assert.equal(await tail.exited, 0, tail.stderr());

        // --since tells what came before, once; --json gives the attempts as objects.
        const since = spawnCli(['tail', '--tenant', uid, '--since', '5m', '--json'], env);
        await since.waitFor(/"statusCode":200/);
        const rows = since
          .stdout()
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { eventId: string; statusCode: number; attempt: number });
        assert.deepEqual(
          rows.map((a) => [a.eventId, a.attempt, a.statusCode]),
          [
            [sent.body.id, 1, 503],
            [sent.body.id, 2, 200],
          ],
        );
        since.proc.kill('SIGINT');
        assert.equal(await since.exited, 0);
      });

      it(`recover sends again what failed, with its progress until done (${mode})`, async () => {
        const uid = `rec-${mode}`;
        let up = false;
        const { receiver, endpointId } = await tenantWithEndpoint(uid, () => ({ status: up ? 200 : 500 }));
        const ids: string[] = [];
        for (let i = 0; i < 3; i++)
          ids.push((await api('POST', `/v1/tenants/${uid}/events`, { type: 'invoice.sent', payload: { i } })).body.id);
        // HERALD_RETRY_SCHEDULE is one retry after 1 s: each fails for good after two attempts.
        await eventually(
          async () => {
            const all = await Promise.all(ids.map((id) => api('GET', `/v1/tenants/${uid}/events/${id}`)));
            return all.every((e) => e.body.status === 'F');
          },
          20_000,
          'the events to fail',
        );
        up = true;
        const before = receiver.received.length;
        const r = await runCli(['recover', '--tenant', uid, '--endpoint', endpointId, '--since', '10m'], modes()[mode]);
        assert.equal(r.code, 0, r.stderr);
        assert.match(
          r.stdout,
          new RegExp(
            `Recovery rcv_\\S+ of ${endpointId}, \\S+ to \\S+: 3 deliveries \\(3 failed, sent again; 0 waiting for a retry, due now\\)`,
          ),
        );
        // Not a terminal: plain lines, the last one full.
        assert.match(r.stdout, /\[#{30}\] 3\/3 \(100%\)\nDone: 3 deliveries set to go again/);
        assert.doesNotMatch(r.stdout, /\r/);
        await receiver.waitForCount(before + 3);
        await eventually(async () => {
          const all = await Promise.all(ids.map((id) => api('GET', `/v1/tenants/${uid}/events/${id}`)));
          return all.every((e) => e.body.status === 'S');
        });

        const bad = await runCli(['recover', '--tenant', uid, '--endpoint', endpointId, '--since', 'yesterday'], modes()[mode]);
        assert.equal(bad.code, 2);
        assert.match(bad.stderr, /--since must be a time ago like 30m, 2h, 7d, or an ISO 8601 date-time/);
      });
    }
  });
}
