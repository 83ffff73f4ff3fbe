// The ceiling: a bare Node relay that takes the same POST Herald takes, answers 202, and makes the
// same delivery POST (undici keep-alive pool, same headers) with no storage, no signing, no retries.
import http from 'node:http';
import { Agent, request } from 'undici';

const target = process.env.RELAY_TARGET;
const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });
let seq = 0;
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString());
      const id = `evt_${process.pid}_${++seq}`;
      res.writeHead(202, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ id, status: 'I' }));
      const out = JSON.stringify({ id, type: body.type, timestamp: new Date().toISOString(), data: body.payload });
      request(target, { method: 'POST', dispatcher: agent, headers: { 'content-type': 'application/json', 'webhook-id': id }, body: out })
        .then((r) => r.body.dump())
        .catch(() => {});
    });
  })
  .listen(Number(process.env.RELAY_PORT), '127.0.0.1', () => process.stdout.write('relay ready\n'));
