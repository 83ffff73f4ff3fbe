import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_RETRY_SCHEDULE, loadConfig, parseRetrySchedule } from '../src/config.js';

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
    assert.throws(
      () => loadConfig({ HERALD_WORKER_CONCURRENCY: '10', HERALD_TENANT_CONCURRENCY: '11' }),
      /HERALD_TENANT_CONCURRENCY \(11\) must not exceed HERALD_WORKER_CONCURRENCY \(10\)/,
    );
  });

  it('refuses a lease that one attempt could outlast (it would be claimed and sent again while in flight)', () => {
    assert.equal(loadConfig({ HERALD_LEASE_SECONDS: '2', HERALD_DELIVERY_TIMEOUT: '1' }).leaseMs, 2000);
    assert.throws(
      () => loadConfig({ HERALD_LEASE_SECONDS: '10' }),
      /HERALD_LEASE_SECONDS \(10 s\) must be longer than HERALD_DELIVERY_TIMEOUT \(15 s\).*raise HERALD_LEASE_SECONDS or lower HERALD_DELIVERY_TIMEOUT/,
    );
    assert.throws(() => loadConfig({ HERALD_LEASE_SECONDS: '30', HERALD_DELIVERY_TIMEOUT: '30' }), ConfigError);
  });

  it('reads the clock skew a node may have, in seconds (0: no limit)', () => {
    assert.equal(loadConfig({}).maxClockSkewMs, 30_000);
    assert.equal(loadConfig({ HERALD_MAX_CLOCK_SKEW: '0' }).maxClockSkewMs, 0);
    assert.throws(() => loadConfig({ HERALD_MAX_CLOCK_SKEW: '-1' }), /HERALD_MAX_CLOCK_SKEW/);
  });
});
