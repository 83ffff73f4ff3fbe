import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { ProductfyEvent, StandardEvent } from '../../packages/webhooks/src/index.js';
import { DIALECTS, freshDatabase } from '../helpers/db.js';
import { heraldEnv, spawnHerald } from '../helpers/process.js';
import { eventually, startHerald, type TestHerald } from '../helpers/herald.js';
import { Webhook, WEBHOOKS_PACKAGE } from '../helpers/webhooksLib.js';

// The receiver library (its built dist, as a user imports it) against real deliveries: a Herald on
// a fresh database posts to real HTTP servers on 127.0.0.1, which verify with the library and
// answer 204 when the request verifies and 400 when it does not. So Herald's own log says whether
// verification passed, and the examples of packages/webhooks/examples run unchanged.

const TOKEN_HEADER = 'x-pfy-webhook-token';

interface Verified {
  path: string;
  headers: http.IncomingHttpHeaders;
  /** Per verifier name: the parsed body, or the error message. */
  results: Record<string, { ok: true; body: unknown } | { ok: false; error: string }>;
}

/** A real HTTP server that checks every request with several Webhook verifiers, one list per path. */
class VerifyingReceiver {
  readonly received: Verified[] = [];
  readonly verifiers = new Map<string, Record<string, Webhook>>();
  private server!: http.Server;
  url = '';

  async start() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const body = Buffer.concat(chunks);
          const results: Verified['results'] = {};
          for (const [name, wh] of Object.entries(this.verifiers.get(req.url!) ?? {})) {
            try {
              results[name] = { ok: true, body: await wh.verify(body, req.headers) };
            } catch (err) {
              results[name] = { ok: false, error: `${(err as Error).name}: ${(err as Error).message}` };
            }
          }
          this.received.push({ path: req.url!, headers: req.headers, results });
          res.writeHead(Object.values(results).some((r) => r.ok) ? 204 : 400).end();
        })();
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  at(path: string) {
    return this.received.filter((r) => r.path === path);
  }

  async stop() {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

const CARD = {
  type: 'authorization',
  state: 'CLEARED',
  amount: 2.2,
  transactionId: 'tx_receiver_1',
  reason: null,
  note: 'ünïcode ✓',
};

/** Runs an example as its README says (`node examples/<name>.js`); resolves with its address once it listens. */
async function runExample(name: string, env: Record<string, string>) {
  const file = fileURLToPath(new URL(`examples/${name}`, WEBHOOKS_PACKAGE));
  const proc = spawn(process.execPath, [file], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Killed when this test file's process exits, whatever happened to the test that started it.
  process.once('exit', () => proc.kill('SIGKILL'));
  let out = '';
  let err = '';
  proc.stdout.on('data', (c) => (out += c));
  proc.stderr.on('data', (c) => (err += c));
  const url = await eventually(
    async () => /listening on (http:\/\/\S+)/.exec(out)?.[1] ?? (proc.exitCode !== null && 'exited'),
    15_000,
    `${name} to listen`,
  );
  assert.notEqual(url, 'exited', `${name} exited: ${err}`);
  return { proc, url, output: () => out + err };
}

for (const dialect of DIALECTS) {
  describe(`receiver library against a running Herald (${dialect})`, () => {
    let h: TestHerald;
    let rx: VerifyingReceiver;
    let n = 0;
    const children: ChildProcess[] = [];

    before(async () => {
      h = await startHerald(dialect, { HERALD_TOKEN_HEADER: TOKEN_HEADER, HERALD_RETRY_SCHEDULE: '0.2' });
      rx = await new VerifyingReceiver().start();
      assert.equal((await h.api('POST', '/v1/event-types/import', { catalog: 'productfy' })).status, 200);
    });
    after(async () => {
      for (const c of children) c.kill();
      await rx?.stop();
      await h?.close();
    });

    /** A tenant and one endpoint of `format` at `url`. */
    async function setup(format: 'standard' | 'productfy', url: string) {
      const uid = `rcv${++n}`;
      const tenant = (await h.api('POST', '/v1/tenants', { name: uid, uid })).body;
      const ep = (await h.api('POST', `/v1/tenants/${uid}/endpoints`, { url, format })).body;
      assert.match(ep.secret, /^whsec_/);
      return { uid, token: tenant.token as string, ep };
    }

    async function send(uid: string) {
      const sent = await h.api('POST', `/v1/tenants/${uid}/events`, {
        type: 'PymtCard',
        payload: CARD,
        occurredAt: '2024-01-02T03:04:05.000Z',
      });
      assert.equal(sent.status, 202, JSON.stringify(sent.body));
      return sent.body.id as string;
    }

    /** The event once its delivery finished; its single delivery's last status code. */
    async function delivered(uid: string, id: string) {
      const ev = await eventually(
        async () => {
          const e = (await h.api('GET', `/v1/tenants/${uid}/events/${id}`)).body;
          return e.deliveries?.[0]?.lastStatusCode && e;
        },
        10_000,
        `event ${id} delivered`,
      );
      return ev.deliveries[0].lastStatusCode as number;
    }

    for (const format of ['standard', 'productfy'] as const) {
      it(`verifies a ${format} delivery, signature and tenant token, and returns the typed body`, async () => {
        const path = `/${format}-${n}`;
        const { uid, token, ep } = await setup(format, rx.url + path);
        rx.verifiers.set(path, {
          secretAndToken: new Webhook(ep.secret, { token, tokenHeader: TOKEN_HEADER }),
          secretOnly: new Webhook(ep.secret),
          wrongToken: new Webhook(ep.secret, { token: 'whtok_not_this_one', tokenHeader: TOKEN_HEADER }),
          defaultTokenHeader: new Webhook(ep.secret, { token }),
          wrongSecret: new Webhook('whsec_' + randomBytes(24).toString('base64'), { token, tokenHeader: TOKEN_HEADER }),
        });
        const id = await send(uid);
        assert.equal(await delivered(uid, id), 204);
        const [r] = rx.at(path);
        assert.equal(r.headers['webhook-id'], id);
        assert.deepEqual(Object.fromEntries(Object.entries(r.results).map(([k, v]) => [k, v.ok || v.error])), {
          secretAndToken: true,
          secretOnly: true,
          wrongToken: 'WebhookVerificationError: Tenant token does not match',
          defaultTokenHeader: 'WebhookVerificationError: Missing tenant token header x-herald-webhook-token',
          wrongSecret: 'WebhookVerificationError: No matching signature found',
        });
        const result = r.results.secretAndToken;
        assert.ok(result.ok);
        if (format === 'standard') {
          const event = result.body as StandardEvent;
          assert.equal(event.type, 'PymtCard');
          if (event.type === 'PymtCard') assert.equal(event.data.transactionId, CARD.transactionId);
          assert.deepEqual(event, { id, type: 'PymtCard', timestamp: '2024-01-02T03:04:05.000Z', data: CARD });
        } else {
          const event = result.body as ProductfyEvent;
          assert.equal(event.triggerType, 'PymtCard');
          if (event.triggerType === 'PymtCard') assert.equal(event.eventPayload.state, 'CLEARED');
          assert.equal(event.id, id);
          assert.equal(event.status, 'I');
          assert.equal(event.callbackUrl, rx.url + path);
          assert.equal(event.triggeringEventTs, '2024-01-02T03:04:05.000Z');
          assert.deepEqual(event.eventPayload, CARD);
        }
      });

      it(`verifies a ${format} delivery during a secret rotation with the old secret and with each new one`, async () => {
        const path = `/${format}-rotation-${n}`;
        const { uid, token, ep } = await setup(format, rx.url + path);
        const rotate = async () => (await h.api('POST', `/v1/tenants/${uid}/endpoints/${ep.id}/rotate-secret`)).body.secret as string;
        const second = await rotate();
        const third = await rotate();
        const opts = { token, tokenHeader: TOKEN_HEADER };
        rx.verifiers.set(path, {
          first: new Webhook(ep.secret, opts),
          second: new Webhook(second, opts),
          third: new Webhook(third, opts),
          other: new Webhook('whsec_' + randomBytes(24).toString('base64'), opts),
        });
        const id = await send(uid);
        assert.equal(await delivered(uid, id), 204);
        const [r] = rx.at(path);
        assert.equal(String(r.headers['webhook-signature']).split(' ').length, 3, 'one signature per secret still valid');
        assert.deepEqual(Object.fromEntries(Object.entries(r.results).map(([k, v]) => [k, v.ok || v.error])), {
          first: true,
          second: true,
          third: true,
          other: 'WebhookVerificationError: No matching signature found',
        });
      });
    }

    it('the Fastify example, run with node, answers 204 to Herald and 400 to a forged request', async () => {
      const probe = await setup('standard', 'http://127.0.0.1:1/unused');
      const { proc, url, output } = await runExample('fastify.js', {
        WEBHOOK_SECRET: probe.ep.secret,
        WEBHOOK_TOKEN: probe.token,
        WEBHOOK_TOKEN_HEADER: TOKEN_HEADER,
      });
      children.push(proc);
      const patched = await h.api('PATCH', `/v1/tenants/${probe.uid}/endpoints/${probe.ep.id}`, { url: `${url}/webhooks/herald` });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const id = await send(probe.uid);
      assert.equal(await delivered(probe.uid, id), 204);
      await eventually(async () => output().includes(`verified ${id}: PymtCard`), 5000, 'the example to log the event');
      const forged = await fetch(`${url}/webhooks/herald`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': 'evt_forged',
          'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
          'webhook-signature': 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=',
          [TOKEN_HEADER]: probe.token,
        },
        body: '{"id":"evt_forged"}',
      });
      assert.equal(forged.status, 400);
      assert.equal(await forged.text(), 'No matching signature found');
    });

    it('the fetch-style example handler answers 204 to a productfy delivery and 400 when the token is not in the header it reads', async () => {
      const { webhookHandler } = (await import(new URL('examples/fetch.js', WEBHOOKS_PACKAGE).href)) as {
        webhookHandler: (o: { secret: string; token?: string; tokenHeader?: string }) => (r: Request) => Promise<Response>;
      };
      // A Web-request server, as Bun, Deno and edge runtimes have, made of node:http for this test.
      let handler: (r: Request) => Promise<Response> = async () => new Response(null, { status: 503 });
      const server = http.createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          void (async () => {
            const headers = new Headers();
            for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers.set(k, v);
            const response = await handler(
              new Request(`http://127.0.0.1${req.url}`, { method: req.method, headers, body: Buffer.concat(chunks) }),
            );
            res.writeHead(response.status).end(Buffer.from(await response.arrayBuffer()));
          })();
        });
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      try {
        const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/herald`;
        const { uid, token, ep } = await setup('productfy', url);
        handler = webhookHandler({ secret: ep.secret, token, tokenHeader: TOKEN_HEADER });
        assert.equal(await delivered(uid, await send(uid)), 204);
        handler = webhookHandler({ secret: ep.secret, token, tokenHeader: 'x-herald-webhook-token' });
        assert.equal(await delivered(uid, await send(uid)), 400, 'the token is looked for in the wrong header');
      } finally {
        server.closeAllConnections();
        await new Promise((r) => server.close(r));
      }
    });
  });
}

describe('the receiver library against a real Herald process', () => {
  it('verifies what `herald start` sends, and refuses it with another secret', async () => {
    const database = await freshDatabase('sqlite');
    const rx = await new VerifyingReceiver().start();
    const h = await spawnHerald(heraldEnv(database, { HERALD_POLL_INTERVAL_MS: '100' }));
    try {
      const key = /sandbox\s+(sk_test_\S+)/.exec(h.stdout())![1];
      const call = async (path: string, body: unknown) =>
        (await (
          await fetch(h.base + path, {
            method: 'POST',
            headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
            body: JSON.stringify(body),
          })
        ).json()) as any;
      await call('/v1/event-types', { name: 'order.paid' });
      await call('/v1/tenants', { name: 'Proc', uid: 'proc' });
      const ep = await call('/v1/tenants/proc/endpoints', { url: `${rx.url}/proc` });
      rx.verifiers.set('/proc', {
        right: new Webhook(ep.secret),
        wrong: new Webhook('whsec_' + randomBytes(24).toString('base64')),
      });
      const sent = await call('/v1/tenants/proc/events', { type: 'order.paid', payload: { orderId: 'o_proc' } });
      const [got] = await eventually(async () => (rx.at('/proc').length ? rx.at('/proc') : null), 10_000, 'the delivery');
      assert.deepEqual(got.results.right, {
        ok: true,
        body: { id: sent.id, type: 'order.paid', timestamp: (got.results.right as any).body.timestamp, data: { orderId: 'o_proc' } },
      });
      assert.deepEqual(got.results.wrong, { ok: false, error: 'WebhookVerificationError: No matching signature found' });
    } finally {
      h.proc.kill('SIGTERM');
      await h.exited;
      await rx.stop();
      await database.drop();
    }
  });
});
