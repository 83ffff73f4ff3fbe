import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createAgent, send } from '../../src/delivery/send.js';

// One POST with its timeout, against a real HTTP server on 127.0.0.1. Requests that start close
// together share one deadline signal (send.ts): none is cut off before its own timeout, and one
// whose answer drips in forever is cut off at it.

describe('sending one request', () => {
  let server: http.Server;
  let url: string;
  const agent = createAgent();

  before(async () => {
    server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (req.url === '/drip') {
          // Headers at once, then a byte every 50 ms for ever: only an overall deadline ends it.
          res.writeHead(200, { 'content-type': 'text/plain' });
          const t = setInterval(() => res.write('.'), 50);
          res.on('close', () => clearInterval(t));
        } else if (req.url === '/large') res.writeHead(200).end('x'.repeat(100_000));
        else if (req.url === '/busy') res.writeHead(429, { 'retry-after': '7' }).end('slow down');
        else setTimeout(() => res.writeHead(200).end('ok'), Number(req.url!.slice(1)));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await agent.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('cuts off an answer that never ends at its timeout, a little after at most', async () => {
    const r = await send(agent, `${url}/drip`, {}, '{}', 400);
    assert.equal(r.error, 'timed out after 400 ms');
    assert.equal(r.statusCode, null);
    assert.ok(r.durationMs >= 395 && r.durationMs < 1000, `took ${r.durationMs} ms`);
  });

  it('requests started together each get their whole timeout', async () => {
    // Started over 15 ms: they share a deadline. Each answer comes 300 ms after its request.
    const pending = [];
    for (let i = 0; i < 4; i++) {
      pending.push(send(agent, `${url}/300`, {}, '{}', 400));
      await new Promise((r) => setTimeout(r, 5));
    }
    for (const r of await Promise.all(pending)) {
      assert.equal(r.error, null);
      assert.equal(r.statusCode, 200);
      assert.equal(r.responseBody, 'ok');
    }
  });

  it('a request after a deadline fired gets a fresh one', async () => {
    await send(agent, `${url}/drip`, {}, '{}', 200);
    const r = await send(agent, `${url}/10`, {}, '{}', 200);
    assert.equal(r.statusCode, 200);
  });

  it('keeps the first 4 KiB of a long answer and reads a 429 with its Retry-After', async () => {
    const large = await send(agent, `${url}/large`, {}, '{}', 2000);
    assert.equal(large.statusCode, 200);
    assert.equal(large.responseBody, 'x'.repeat(4096));
    const busy = await send(agent, `${url}/busy`, {}, '{}', 2000);
    assert.deepEqual([busy.statusCode, busy.responseBody, busy.retryAfterMs], [429, 'slow down', 7000]);
    // The connection a long answer was cut off on is dropped; the next request still gets through.
    assert.equal((await send(agent, `${url}/1`, {}, '{}', 2000)).responseBody, 'ok');
  });

  it('answers a refused connection with its reason, never a rejection', async () => {
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    const r = await send(agent, `http://127.0.0.1:${port}/`, {}, '{}', 2000);
    assert.equal(r.statusCode, null);
    assert.match(r.error!, /ECONNREFUSED/);
  });
});
