import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from './helpers/db.js';
import { eventually } from './helpers/herald.js';
import { heraldEnv, runCli, spawnHerald } from './helpers/process.js';
import { Receiver } from './helpers/receiver.js';

// No secret in a log line or an error: a real Herald at debug level (every request logged) goes
// through keys, tenants, endpoints, a rotation, failing and succeeding deliveries and refused calls;
// then none of the secrets it handled may appear in anything it printed after its first-start banner.

describe('secrets stay out of logs and errors', () => {
  let database: TestDatabase;
  let rx: Receiver;
  before(async () => {
    database = await freshDatabase('sqlite');
    rx = await new Receiver((r) => ({ status: r.path === '/fail' ? 500 : 200, body: 'nope' })).start();
  });
  after(async () => {
    await rx.stop();
    await database.drop();
  });

  it('prints no key, token, signing secret or secret-at-rest key, and echoes none in errors', async () => {
    const env = heraldEnv(database, {
      HERALD_LOG_LEVEL: 'debug',
      HERALD_RETRY_SCHEDULE: '0.1',
      HERALD_POLL_INTERVAL_MS: '100',
    });
    const key = JSON.parse((await runCli(['keys', 'create', '--env', 'sandbox', '--json'], env)).stdout).key;
    const h = await spawnHerald(env);
    const bannerEnd = h.stdout().length;
    const base = h.base;
    const call = async (method: string, p: string, body?: unknown, k = key) => {
      const res = await fetch(base + p, {
        method,
        headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
        body: body ? JSON.stringify(body) : undefined,
      });
      return { status: res.status, text: await res.text() };
    };
    try {
      await call('POST', '/v1/event-types', { name: 'thing.happened' });
      const tenant = JSON.parse((await call('POST', '/v1/tenants', { name: 'leak', uid: 'leak' })).text);
      const ok = JSON.parse((await call('POST', '/v1/tenants/leak/endpoints', { url: `${rx.url}/ok` })).text);
      const bad = JSON.parse((await call('POST', '/v1/tenants/leak/endpoints', { url: `${rx.url}/fail` })).text);
      const rotated = JSON.parse((await call('POST', `/v1/tenants/leak/endpoints/${ok.id}/rotate-secret`)).text).secret;
      for (let i = 0; i < 3; i++) await call('POST', '/v1/tenants/leak/events', { type: 'thing.happened', payload: { i } });
      await eventually(async () => rx.received.filter((r) => r.path === '/fail').length >= 4, 5000, 'failed attempts');

      // Refused calls echo neither the key they were given nor secrets sent in headers or stored.
      const wrongKey = 'sk_test_' + 'x'.repeat(32);
      const refused = [
        await call('GET', '/v1/tenants', undefined, wrongKey),
        await call('POST', '/v1/tenants/leak/endpoints', { url: 'ftp://x', headers: { 'x-secret': rotated } }),
        await call('POST', `/v1/tenants/leak/endpoints/${ok.id}/test`, { eventType: 'no.such' }),
      ];
      for (const r of refused) {
        assert.ok(r.status >= 400);
        for (const s of [wrongKey, rotated, tenant.token, ok.secret]) assert.ok(!r.text.includes(s), `an error echoed a secret: ${r.text}`);
      }

      const secretKey = fs.readFileSync(path.join(database.dataDir, 'secret.key'), 'utf8').trim();
      const printed = h.stdout().slice(bannerEnd) + h.stderr();
      assert.ok(printed.length > 500, 'debug logging printed something to check');
      for (const [what, s] of Object.entries({
        key,
        wrongKey,
        token: tenant.token,
        secret: ok.secret,
        rotated,
        badSecret: bad.secret,
        secretKey,
      })) {
        assert.ok(!printed.includes(s), `the ${what} appeared in the logs`);
      }
    } finally {
      h.proc.kill('SIGTERM');
      await h.exited;
    }
  });

  it('answers headers over 16 KB with a JSON 431, not a bare one', async () => {
    const h = await spawnHerald(heraldEnv(database));
    try {
      const res = await fetch(`${h.base}/v1/health`, { headers: { 'x-big': 'a'.repeat(20_000) } });
      assert.equal(res.status, 431);
      const body = (await res.json()) as { error: { message: string; requestId: string } };
      assert.match(body.error.message, /larger than 16 KB/);
      assert.match(body.error.requestId, /^req_/);
    } finally {
      h.proc.kill('SIGTERM');
      await h.exited;
    }
  });
});
