import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextRetryDelay, parseRetryAfter } from '../../src/delivery/retryPolicy.js';

describe('retry policy', () => {
  it('waits the scheduled time with ±20 % jitter, then gives up', () => {
    assert.equal(
      nextRetryDelay([5, 300], 1, null, () => 0.5),
      5000,
    );
    assert.equal(
      nextRetryDelay([5, 300], 1, null, () => 0),
      4000,
    );
    assert.equal(
      nextRetryDelay([5, 300], 2, null, () => 1),
      360_000,
    );
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
