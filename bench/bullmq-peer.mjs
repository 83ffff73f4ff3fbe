// The peer: what a TypeScript team builds instead of Herald. An HTTP API that puts each event on a
// BullMQ queue in Redis and answers 202 once Redis has it, and in the same process a BullMQ worker
// (concurrency 64) that signs each (Standard Webhooks HMAC-SHA256) and posts it with an undici
// keep-alive pool, retried with exponential backoff when the endpoint fails. Same POST in, same
// POST out as Herald and the bare relay (bench/relay.mjs). Redis persistence is the bench's to set.
import { createHmac, randomBytes } from 'node:crypto';
import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Agent, request } from 'undici';

// BullMQ comes from the folder the bench installed it in (PEER_MODULES, see bench/run.ts).
const { Queue, Worker } = createRequire(path.join(process.env.PEER_MODULES, 'resolve.js'))('bullmq');
const target = process.env.RELAY_TARGET;
const connection = { host: process.env.REDIS_HOST ?? '127.0.0.1', port: Number(process.env.REDIS_PORT ?? 6379) };
const name = `herald-bench-${process.pid}`;
const secret = randomBytes(32);
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });
const queue = new Queue(name, { connection });
const worker = new Worker(
  name,
  async (job) => {
    const { id, type, payload } = job.data;
    const timestamp = Math.floor(Date.now() / 1000);
    const body = JSON.stringify({ id, type, timestamp: new Date().toISOString(), data: payload });
    const signature = createHmac('sha256', secret).update(`${id}.${timestamp}.${body}`).digest('base64');
    const r = await request(target, {
      method: 'POST',
      dispatcher: agent,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': `v1,${signature}`,
      },
      body,
    });
    await r.body.dump();
    if (r.statusCode < 200 || r.statusCode >= 300) throw new Error(`endpoint answered ${r.statusCode}`);
  },
  { connection, concurrency: 64 },
);
let seq = 0;
const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const event = JSON.parse(Buffer.concat(chunks).toString());
    const id = `evt_${process.pid}_${++seq}`;
    queue
      .add(
        'deliver',
        { id, type: event.type, payload: event.payload },
        { jobId: id, attempts: 8, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: true, removeOnFail: 1000 },
      )
      .then(
        () => res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ id, status: 'I' })),
        (err) => res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) })),
      );
  });
});
await worker.waitUntilReady();
await queue.waitUntilReady();
server.listen(Number(process.env.RELAY_PORT), '127.0.0.1', () => process.stdout.write('peer ready\n'));
process.on('SIGTERM', async () => {
  server.close();
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  process.exit(0);
});
