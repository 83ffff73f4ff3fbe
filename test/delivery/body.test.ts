import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildBody, contentTypeOf } from '../../src/delivery/body.js';

describe('bodies', () => {
  const d = {
    eventId: 'evt_1',
    type: 'KycUpdate',
    payload: '{"b":1,"a":[2]}',
    occurredAt: 0,
    createdAt: 1000,
    url: 'https://x.test/h',
    tenantId: 'tnt_1',
  };
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
  it('builds a CloudEvents 1.0 event in structured mode, with its own content type', () => {
    const text = buildBody({ ...d, format: 'cloudevents' });
    assert.equal(
      text,
      '{"specversion":"1.0","id":"evt_1","source":"/tenants/tnt_1","type":"KycUpdate","time":"1970-01-01T00:00:00.000Z","datacontenttype":"application/json","data":{"b":1,"a":[2]}}',
    );
    // The attributes CloudEvents 1.0 requires, with the types it gives them.
    const ce = JSON.parse(text) as Record<string, unknown>;
    for (const attr of ['specversion', 'id', 'source', 'type']) assert.equal(typeof ce[attr], 'string', attr);
    assert.ok(!Number.isNaN(Date.parse(ce.time as string)));
    assert.equal(contentTypeOf('cloudevents'), 'application/cloudevents+json; charset=utf-8');
    assert.equal(contentTypeOf('standard'), 'application/json');
  });
});
