// The ceiling of receiving: a bare Node server that verifies the same signature Herald verifies
// for a Chargify source (HMAC-SHA256 of the body, hex, constant-time compare) and answers 200,
// storing nothing. Herald's inbound figures are read against it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';

const key = process.env.RECEIVER_KEY;
http
  .createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const given = Buffer.from(String(req.headers['x-chargify-webhook-signature-hmac-sha-256'] ?? ''), 'utf8');
      const expected = Buffer.from(createHmac('sha256', key).update(body).digest('hex'), 'utf8');
      const ok = given.length === expected.length && timingSafeEqual(given, expected);
      res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(ok ? '{"status":"accepted"}' : '{"error":"signature"}');
    });
  })
  .listen(Number(process.env.RECEIVER_PORT), '127.0.0.1', () => process.stdout.write('receiver ready\n'));
