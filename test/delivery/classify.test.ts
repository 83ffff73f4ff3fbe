import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, failureReason } from '../../src/delivery/classify.js';

// classify is pure: an answer (or its absence), the delivery's attempts so far, the retry
// schedule, the time and the jitter go in; delivered, retry at T, or given up comes out.

const NOW = 1_700_000_000_000;
const SCHEDULE = [5, 300, 3600];
const first = { attempts: 0, scheduleStart: 0 };
const answer = (statusCode: number | null, retryAfterMs: number | null = null, error: string | null = null) => ({
  statusCode,
  retryAfterMs,
  error,
});
const middle = () => 0.5; // no jitter

describe('classify: what an attempt leaves the delivery as', () => {
  it('delivers on any 2xx', () => {
    for (const code of [200, 201, 204, 299]) assert.deepEqual(classify(answer(code), first, SCHEDULE, NOW, middle), { status: 'S' });
  });

  it('retries anything else on the schedule: the first wait after the first failure, with jitter', () => {
    for (const code of [500, 503, 404, 400, 301, 302, null]) {
      assert.deepEqual(classify(answer(code), first, SCHEDULE, NOW, middle), { status: 'I', dueAt: NOW + 5_000 }, `status ${code}`);
    }
    assert.deepEqual(
      classify(answer(500), first, SCHEDULE, NOW, () => 0),
      { status: 'I', dueAt: NOW + 4_000 },
      '20 % early at most',
    );
    assert.deepEqual(
      classify(answer(500), first, SCHEDULE, NOW, () => 1),
      { status: 'I', dueAt: NOW + 6_000 },
      '20 % late at most',
    );
    assert.deepEqual(
      classify(answer(500), { attempts: 2, scheduleStart: 0 }, SCHEDULE, NOW, middle),
      { status: 'I', dueAt: NOW + 3_600_000 },
      'the third failure waits the third step',
    );
  });

  it('gives up once the schedule is used up, counting from the last manual resend', () => {
    assert.deepEqual(classify(answer(500), { attempts: 3, scheduleStart: 0 }, SCHEDULE, NOW, middle), { status: 'F' });
    // Resent by hand after 4 attempts: the schedule starts over.
    assert.deepEqual(classify(answer(500), { attempts: 4, scheduleStart: 4 }, SCHEDULE, NOW, middle), { status: 'I', dueAt: NOW + 5_000 });
    assert.deepEqual(classify(answer(500), { attempts: 7, scheduleStart: 4 }, SCHEDULE, NOW, middle), { status: 'F' });
    assert.deepEqual(classify(answer(null), first, [], NOW, middle), { status: 'F' }, 'an empty schedule: one attempt only');
  });

  it('gives up at once on 410 Gone, schedule or not', () => {
    assert.deepEqual(classify(answer(410), first, SCHEDULE, NOW, middle), { status: 'F' });
  });

  it('waits as long as a 429 or 503 asks with retry-after, up to a day', () => {
    assert.deepEqual(classify(answer(429, 42_000), first, SCHEDULE, NOW, middle), { status: 'I', dueAt: NOW + 42_000 });
    assert.deepEqual(classify(answer(503, 10 * 86_400_000), first, SCHEDULE, NOW, middle), { status: 'I', dueAt: NOW + 86_400_000 });
    assert.deepEqual(
      classify(answer(429, 42_000), { attempts: 3, scheduleStart: 0 }, SCHEDULE, NOW, middle),
      { status: 'F' },
      'but not past the schedule',
    );
  });
});

describe('failureReason: what the delivery log says', () => {
  it('nothing for a 2xx; the status for an error answer; the redirect not followed; the network error as it came', () => {
    assert.equal(failureReason(answer(200)), null);
    assert.equal(failureReason(answer(500)), 'endpoint answered 500');
    assert.equal(failureReason(answer(410)), 'endpoint answered 410');
    assert.equal(failureReason(answer(301)), 'redirect (301) not followed');
    assert.equal(
      failureReason(answer(null, null, 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9')),
      'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9',
    );
    assert.equal(failureReason(answer(null, null, 'timed out after 15000 ms')), 'timed out after 15000 ms');
  });
});
