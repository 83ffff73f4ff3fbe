import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_RETRY_SCHEDULE, loadConfig, parseRetrySchedule } from '../src/config.js';
import { buildBody } from '../src/delivery/body.js';
import { nextRetryDelay, parseRetryAfter } from '../src/delivery/retryPolicy.js';
import { sign, signatureHeader } from '../src/delivery/signature.js';
import { AddressPolicy } from '../src/endpoints/urlPolicy.js';
import { newId } from '../src/ids.js';

describe('Standard Webhooks signature', () => {
  it('matches the reference vector of the Standard Webhooks libraries', () => {
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const sig = sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}');
    assert.equal(sig, 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('lists one signature per valid secret, space-separated', () => {
    const h = signatureHeader(['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec_' + Buffer.from('other').toString('base64')], 'm', 1, 'b');
    assert.equal(h.split(' ').length, 2);
  });
});

describe('retry policy', () => {
  it('waits the scheduled time with ±20 % jitter, then gives up', () => {
    assert.equal(nextRetryDelay([5, 300], 1, null, () => 0.5), 5000);
    assert.equal(nextRetryDelay([5, 300], 1, null, () => 0), 4000);
    assert.equal(nextRetryDelay([5, 300], 2, null, () => 1), 360_000);
    assert.equal(nextRetryDelay([5, 300], 3, null), null);
  });

  it('prefers retry-after, in seconds or as an HTTP date, capped at a day', () => {
    assert.equal(nextRetryDelay([5], 1, 30_000), 30_000);
    assert.equal(nextRetryDelay([5], 1, 10 * 86_400_000), 86_400_000);
    assert.equal(parseRetryAfter('120'), 120_000);
    assert.equal(parseRetryAfter(new Date(10_000 + 60_000).toUTCString(), 10_000), 60_000);
    assert.equal(parseRetryAfter('soon'), null);
    assert.equal(parseRetryAfter(undefined), null);
  });
});

describe('config', () => {
  it('reads defaults and the documented variables', () => {
    const c = loadConfig({});
    assert.equal(c.port, 8080);
    assert.deepEqual(c.retrySchedule, DEFAULT_RETRY_SCHEDULE);
    assert.equal(c.tokenHeader, 'x-herald-webhook-token');
    assert.equal(c.deliveryTimeoutMs, 15_000);
    const p = loadConfig({ HERALD_PORT: '9000', HERALD_TOKEN_HEADER: 'X-Pfy-Webhook-Token', HERALD_RETRY_SCHEDULE: '1, 2,3' });
    assert.equal(p.port, 9000);
    assert.equal(p.tokenHeader, 'x-pfy-webhook-token');
    assert.deepEqual(p.retrySchedule, [1, 2, 3]);
  });

  it('refuses bad values with a message that names the variable', () => {
    assert.throws(() => parseRetrySchedule('5,,300'), ConfigError);
    assert.throws(() => loadConfig({ HERALD_PORT: 'eighty' }), /HERALD_PORT/);
    assert.throws(() => loadConfig({ DATABASE_URL: 'mysql://x' }), /DATABASE_URL/);
    assert.throws(() => loadConfig({ HERALD_ROLES: 'api,cron' }), /HERALD_ROLES/);
  });

  it('gives one tenant four fifths of the worker unless told otherwise, and never more than the worker', () => {
    assert.equal(loadConfig({}).tenantConcurrency, 400);
    assert.equal(loadConfig({ HERALD_WORKER_CONCURRENCY: '20' }).tenantConcurrency, 16);
    assert.equal(loadConfig({ HERALD_WORKER_CONCURRENCY: '1' }).tenantConcurrency, 1);
    assert.equal(loadConfig({ HERALD_TENANT_CONCURRENCY: '500' }).tenantConcurrency, 500);
    assert.throws(() => loadConfig({ HERALD_WORKER_CONCURRENCY: '10', HERALD_TENANT_CONCURRENCY: '11' }), /HERALD_TENANT_CONCURRENCY \(11\) must not exceed HERALD_WORKER_CONCURRENCY \(10\)/);
  });

  it('reads the clock skew a node may have, in seconds (0: no limit)', () => {
    assert.equal(loadConfig({}).maxClockSkewMs, 30_000);
    assert.equal(loadConfig({ HERALD_MAX_CLOCK_SKEW: '0' }).maxClockSkewMs, 0);
    assert.throws(() => loadConfig({ HERALD_MAX_CLOCK_SKEW: '-1' }), /HERALD_MAX_CLOCK_SKEW/);
  });
});

describe('bodies', () => {
  const d = { eventId: 'evt_1', type: 'KycUpdate', payload: '{"b":1,"a":[2]}', occurredAt: 0, createdAt: 1000, url: 'https://x.test/h' };
  it('splices the stored payload bytes into the standard envelope', () => {
    assert.equal(buildBody({ ...d, format: 'standard' }), '{"id":"evt_1","type":"KycUpdate","timestamp":"1970-01-01T00:00:00.000Z","data":{"b":1,"a":[2]}}');
  });
  it('builds the Productfy envelope in its documented field order', () => {
    assert.equal(
      buildBody({ ...d, format: 'productfy' }),
      '{"id":"evt_1","status":"I","createdTs":"1970-01-01T00:00:01.000Z","callbackUrl":"https://x.test/h","triggerType":"KycUpdate","eventPayload":{"b":1,"a":[2]},"triggeringEventTs":"1970-01-01T00:00:00.000Z"}',
    );
  });
});

describe('ids and addresses', () => {
  it('makes ids that sort by creation time', () => {
    const a = newId('evt', 1_700_000_000_000);
    const b = newId('evt', 1_700_000_000_001);
    assert.ok(a < b);
    assert.match(a, /^evt_[0-9a-z]{22}$/);
  });
  it('keeps ids made in the same millisecond in the order they were made', () => {
    const ids = Array.from({ length: 5000 }, (_, i) => newId(i % 2 ? 'evt' : 'dlv', 1_700_000_000_002).slice(4));
    for (let i = 1; i < ids.length; i++) assert.ok(ids[i - 1] < ids[i], `${ids[i - 1]} < ${ids[i]}`);
  });
  it('blocks private, loopback, link-local, CGNAT, unique-local and mapped addresses', () => {
    const p = new AddressPolicy();
    for (const h of ['127.0.0.1', 'localhost', 'api.localhost', '10.1.2.3', '172.16.5.5', '192.168.0.1', '169.254.169.254', '[::1]', '100.64.0.1', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '0.0.0.0']) assert.ok(p.isBlocked(h), h);
    for (const h of ['example.com', '8.8.8.8', '[2606:4700::1111]', '::ffff:8.8.8.8']) assert.ok(!p.isBlocked(h), h);
  });
  it('lets an allowlisted range through', () => {
    const p = new AddressPolicy(['10.20.0.0/16']);
    assert.ok(!p.isBlocked('10.20.1.2'));
    assert.ok(p.isBlocked('10.21.1.2'));
  });
  it('refuses at connect time a name that resolves to a private address', async () => {
    const p = new AddressPolicy();
    const err = await new Promise<Error | null>((resolve) => p.guardedLookup('localhost', {}, (e) => resolve(e)));
    assert.match(String(err?.message), /refused: localhost resolves to/);
  });
});
