import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBody } from '../../src/delivery/body.js';

describe('bodies', () => {
  const d = { eventId: 'evt_1', type: 'KycUpdate', payload: '{"b":1,"a":[2]}', occurredAt: 0, createdAt: 1000, url: 'https://x.test/h' };
  it('splices the stored payload bytes into the standard envelope', () => {
    assert.equal(
      buildBody({ ...d, format: 'standard' }),
      '{"id":"evt_1","type":"KycUpdate","timestamp":"1970-01-01T00:00:00.000Z","data":{"b":1,"a":[2]}}',
    );
  });
  it('builds the Productfy envelope in its documented field order', () => {
    assert.equal(
      buildBody({ ...d, format: 'productfy' }),
      '{"id":"evt_1","status":"I","createdTs":"1970-01-01T00:00:01.000Z","callbackUrl":"https://x.test/h","triggerType":"KycUpdate","eventPayload":{"b":1,"a":[2]},"triggeringEventTs":"1970-01-01T00:00:00.000Z"}',
    );
  });
});
