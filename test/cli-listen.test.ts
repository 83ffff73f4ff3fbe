import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { DIALECTS, freshDatabase, type TestDatabase } from './helpers/db.js';
import { eventually, sleep } from './helpers/herald.js';
import { type HeraldProcess, heraldEnv, runCli, spawnCli, spawnHerald } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';
import { Webhook } from './helpers/webhooksLib.js';

// `herald listen` against a real Herald process, with real receivers on 127.0.0.1: the CLI pulls a
// listen endpoint's deliveries over one connection, posts them to its local URL exactly as Herald
// posts to an http endpoint, and reports each answer, which Herald records as the attempt.
for (const dialect of DIALECTS) {
  describe(`herald listen (${dialect})`, () => {
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
    const remote = () => ({ ...heraldEnv(database), HERALD_URL: herald.base, HERALD_KEY: key });
    const receiver = async (respond?: ConstructorParameters<typeof Receiver>[0]) => {
      const r = await new Receiver(respond).start();
      receivers.push(r);
      return r;
    };
    const tenant = async (uid: string) => assert.equal((await api('POST', '/v1/tenants', { name: uid, uid })).status, 201);

    before(async () => {
      database = await freshDatabase(dialect);
      herald = await spawnHerald(
        heraldEnv(database, {
          HERALD_POLL_INTERVAL_MS: '100',
          HERALD_RETRY_SCHEDULE: '1',
          HERALD_LISTEN_EXPIRY: '3',
          HERALD_MAINTENANCE_INTERVAL_MS: '200',
        }),
      );
      key = /sandbox\s+(sk_test_\S+)/.exec(herald.stdout())![1];
      const type = await api('POST', '/v1/event-types', { name: 'order.paid', example: { order: 'o_1', amount: 4200, currency: 'EUR' } });
      assert.equal(type.status, 201);
    });

    after(async () => {
      herald?.proc.kill('SIGTERM');
      await herald?.exited;
      await Promise.all(receivers.map((r) => r.stop()));
      await database?.drop();
    });

    it('forwards a triggered event with the headers and body an http endpoint gets; the local answers are the attempts, retried; Ctrl-C removes the endpoint', async () => {
      await tenant('acme');
      const normal = await receiver();
      const created = await api('POST', '/v1/tenants/acme/endpoints', { url: `${normal.url}/normal` });
      assert.equal(created.status, 201);
      const local = await receiver((_r, n) => (n === 1 ? { status: 500, body: 'boom' } : { status: 200, body: 'fine' }));

      const listen = spawnCli(['listen', '--tenant', 'acme', '--forward-to', `${local.url}/hooks`], remote());
      const [, endpointId, secret] = await listen.waitFor(/Ready! Endpoint (ep_\S+) forwards to \S+; signing secret (whsec_\S+)/);

      const trigger = await runCli(['trigger', 'order.paid', '--tenant', 'acme', '--json'], remote());
      assert.equal(trigger.code, 0, trigger.stderr);
      const event = JSON.parse(trigger.stdout) as { id: string; status: string };
      assert.equal(event.status, 'I');

      await local.waitForCount(2, 15_000);
      await normal.waitForCount(1);
      const [first, second] = local.received;
      const real = normal.received[0];
      assert.equal(first.path, '/hooks');
      // The same bytes, and the same headers but for the signature (each endpoint has its own secret)
      // and the time it was signed at.
      assert.equal(first.body, real.body);
      assert.equal(second.body, real.body);
      assert.deepEqual(Object.keys(first.headers).sort(), Object.keys(real.headers).sort());
      for (const h of ['content-type', 'content-length', 'user-agent', 'webhook-id', 'x-herald-webhook-token']) {
        assert.equal(first.headers[h], real.headers[h], h);
      }
      assert.equal(first.headers['webhook-id'], event.id);
      assert.deepEqual(JSON.parse(first.body).data, { order: 'o_1', amount: 4200, currency: 'EUR' });
      // Signed with the secret `Ready` printed, as the receiver library checks it.
      const verifier = new Webhook(secret);
      for (const r of [first, second]) await verifier.verify(r.body, r.headers);
      await assert.rejects(new Webhook(created.body.secret).verify(first.body, first.headers));

      // One line per delivery: time, type, status, duration; the retry says when.
      await listen.waitFor(/order\.paid {2}200 {2}\d+ ms {2}evt_\S+ {2}attempt 2/);
      assert.match(listen.stdout(), /\d{4}-\d\d-\d\dT\S+Z {2}order\.paid {2}500 {2}\d+ ms {2}evt_\S+ {2}retry at \S+/);

      // The local answers are the delivery's attempts, as Herald records its own.
      const ev = await eventually(async () => {
        const r = await api('GET', `/v1/tenants/acme/events/${event.id}`);
        return r.body.status === 'S' ? r.body : null;
      });
      const mine = ev.deliveries.find((d: { endpointId: string }) => d.endpointId === endpointId);
      assert.deepEqual([mine.status, mine.attempts, mine.lastStatusCode], ['S', 2, 200]);
      const attempts = await api('GET', `/v1/tenants/acme/deliveries/${mine.id}/attempts`);
      assert.deepEqual(
        attempts.body.data.map((a: { statusCode: number; responseBody: string; error: string | null }) => [
          a.statusCode,
          a.responseBody,
          a.error,
        ]),
        [
          [200, 'fine', null],
          [500, 'boom', 'endpoint answered 500'],
        ],
      );
      // Nothing else went to the local URL: the worker never posts a listen endpoint's deliveries.
      await sleep(500);
      assert.equal(local.received.length, 2);

      listen.proc.kill('SIGINT');
      assert.equal(await listen.exited, 0, listen.stderr());
      assert.match(listen.stdout(), new RegExp(`Stopped: endpoint ${endpointId} removed`));
      assert.equal((await api('GET', `/v1/tenants/acme/endpoints/${endpointId}`)).status, 404);
    });

    it('works on the local database too, with the server delivering nothing itself', async () => {
      await tenant('local-co');
      const local = await receiver(() => ({ status: 204 }));
      const env = heraldEnv(database);
      const listen = spawnCli(['listen', '--tenant', 'local-co', '--forward-to', `${local.url}/dev`, '--events', 'order.paid'], env);
      const [, endpointId, secret] = await listen.waitFor(/Ready! Endpoint (ep_\S+) forwards to \S+; signing secret (whsec_\S+)/);
      assert.match(listen.stdout(), /events: order\.paid, format standard, through the local database/);
      const trigger = await runCli(['trigger', 'order.paid', '--tenant', 'local-co'], env);
      assert.equal(trigger.code, 0, trigger.stderr);
      assert.match(trigger.stdout, /Sent order\.paid as event evt_\S+/);
      await local.waitForCount(1);
      await new Webhook(secret).verify(local.received[0].body, local.received[0].headers);
      await listen.waitFor(/order\.paid {2}204 {2}\d+ ms/);
      listen.proc.kill('SIGINT');
      assert.equal(await listen.exited, 0, listen.stderr());
      assert.equal((await api('GET', `/v1/tenants/local-co/endpoints/${endpointId}`)).status, 404);
    });

    it("an abandoned listener's endpoint is never sent to by a worker, and expires", async () => {
      await tenant('gone-co');
      const local = await receiver();
      const listen = spawnCli(['listen', '--tenant', 'gone-co', '--forward-to', `${local.url}/hooks`], remote());
      const [, endpointId] = await listen.waitFor(/Ready! Endpoint (ep_\S+)/);
      listen.proc.kill('SIGKILL');
      await listen.exited;
      const sent = await api('POST', '/v1/tenants/gone-co/events', { type: 'order.paid', payload: { order: 'o_2' } });
      assert.equal(sent.status, 202);
      // Workers poll every 100 ms here: ample time to send it, if they would.
      await sleep(1500);
      assert.equal(local.received.length, 0);
      // HERALD_LISTEN_EXPIRY is 3 s: maintenance deletes it, and what waited for it fails.
      await eventually(
        async () => (await api('GET', `/v1/tenants/gone-co/endpoints/${endpointId}`)).status === 404,
        15_000,
        'the endpoint to expire',
      );
      const ev = await api('GET', `/v1/tenants/gone-co/events/${sent.body.id}`);
      assert.equal(ev.body.status, 'F');
      assert.match(ev.body.deliveries[0].lastError, /listener expired/);
      assert.equal(local.received.length, 0);
    });

    it('over REST: a connection that ends hands its unanswered deliveries to the next one at once', async () => {
      await tenant('rest-co');
      const made = await api('POST', '/v1/tenants/rest-co/listeners', {
        forwardTo: 'http://localhost:3000/webhooks',
        eventTypes: ['order.paid'],
      });
      assert.equal(made.status, 201);
      assert.deepEqual([made.body.kind, made.body.url], ['listen', 'http://localhost:3000/webhooks']);
      assert.match(made.body.secret, /^whsec_/);
      assert.ok(Date.parse(made.body.expiresAt) > Date.now());
      const id = made.body.id as string;
      await api('POST', '/v1/tenants/rest-co/events', { type: 'order.paid', payload: { order: 'o_3' } });

      const firstDelivery = async () => {
        const controller = new AbortController();
        const res = await fetch(`${herald.base}/v1/tenants/rest-co/listeners/${id}/stream`, {
          headers: { authorization: `Bearer ${key}` },
          signal: controller.signal,
        });
        assert.equal(res.status, 200);
        assert.match(res.headers.get('content-type')!, /application\/x-ndjson/);
        const lines: { type: string; deliveryId?: string; leaseToken?: string; body?: string }[] = [];
        let text = '';
        const reader = res.body!.getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) throw new Error('the stream ended without a delivery');
          text += Buffer.from(value).toString();
          while (text.includes('\n')) {
            lines.push(JSON.parse(text.slice(0, text.indexOf('\n'))));
            text = text.slice(text.indexOf('\n') + 1);
          }
          const d = lines.find((l) => l.type === 'delivery');
          if (d) {
            // Gone without answering, as a listener that lost its connection.
            controller.abort();
            assert.equal(lines[0].type, 'ready');
            return d;
          }
        }
      };
      const one = await firstDelivery();
      // The first connection is gone without answering: the next is offered the same delivery now,
      // not when the lease would have run out.
      const started = Date.now();
      const again = await firstDelivery();
      assert.equal(again.deliveryId, one.deliveryId);
      assert.ok(Date.now() - started < 10_000);
      assert.equal(JSON.parse(Buffer.from(again.body!, 'base64').toString()).data.order, 'o_3');

      const answered = await api('POST', `/v1/tenants/rest-co/listeners/${id}/results`, {
        deliveryId: again.deliveryId,
        leaseToken: again.leaseToken,
        statusCode: 200,
        durationMs: 7,
        responseBody: 'ok',
      });
      assert.equal(answered.status, 200);
      assert.deepEqual([answered.body.status, answered.body.attempts], ['S', 1]);
      const late = await api('POST', `/v1/tenants/rest-co/listeners/${id}/results`, {
        deliveryId: again.deliveryId,
        leaseToken: again.leaseToken,
        statusCode: 200,
        durationMs: 7,
      });
      assert.equal(late.status, 409);

      // An http endpoint is not a listener.
      const http = await api('POST', '/v1/tenants/rest-co/endpoints', { url: 'http://127.0.0.1:9/x' });
      assert.equal((await api('GET', `/v1/tenants/rest-co/listeners/${http.body.id}/stream`)).status, 404);
      assert.equal((await api('DELETE', `/v1/tenants/rest-co/listeners/${id}`)).status, 204);
      assert.equal((await api('GET', `/v1/tenants/rest-co/listeners/${id}/stream`)).status, 404);

      const doc = (await (await fetch(`${herald.base}/openapi.json`)).json()) as { paths: Record<string, unknown> };
      for (const p of [
        '/v1/tenants/{tenant}/listeners',
        '/v1/tenants/{tenant}/listeners/{id}/stream',
        '/v1/tenants/{tenant}/listeners/{id}/results',
      ]) {
        assert.ok(doc.paths[p], `${p} is in /openapi.json`);
      }
    });

    it('says what is wrong: a bad --forward-to, an unreachable Herald, a refused key', async () => {
      const bad = await runCli(['listen', '--tenant', 'acme', '--forward-to', 'localhost:3000'], remote());
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--forward-to must be an http or https URL like http:\/\/localhost:3000\/webhooks/);
      const unreachable = await runCli(['listen', '--tenant', 'acme', '--forward-to', 'http://localhost:3000/'], {
        ...remote(),
        HERALD_URL: 'http://127.0.0.1:9',
      });
      assert.equal(unreachable.code, 1);
      assert.match(unreachable.stderr, /cannot reach Herald at http:\/\/127\.0\.0\.1:9 \(ECONNREFUSED\): is it running there\? HERALD_URL/);
      const refused = await runCli(['trigger', 'order.paid', '--tenant', 'acme'], { ...remote(), HERALD_KEY: 'sk_test_not_a_key' });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /refused HERALD_KEY: this key is not valid/);
      const half = await runCli(['tail', '--tenant', 'acme'], { ...heraldEnv(database), HERALD_URL: herald.base });
      assert.equal(half.code, 1);
      assert.match(half.stderr, /HERALD_URL is set but HERALD_KEY is not/);
    });
  });
}
