import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { type DeliveryRequest, prepare } from '../../src/delivery/prepare.js';
import type { ClaimedDelivery } from '../../src/delivery/sql/claimDueDeliveries.js';
import { AddressPolicy } from '../../src/endpoints/urlPolicy.js';
import { VERSION } from '../../src/version.js';

// prepare is pure: the request a claimed delivery sends, or why it sends none. No database, no
// network: a delivery as the claim answers it goes in, the headers, body and signature come out.

const SECRET = 'whsec_' + Buffer.from('a secret of thirty-two bytes....').toString('base64');
const STARTED_AT = 1_700_000_000_123;

function delivery(over: Partial<ClaimedDelivery> = {}): ClaimedDelivery {
  return {
    id: 'dlv_1',
    eventId: 'evt_1',
    endpointId: 'ep_1',
    tenantId: 'ten_1',
    environment: 'production',
    leaseToken: 'tag:1',
    attempts: 0,
    scheduleStart: 0,
    type: 'invoice.paid',
    payload: '{"amount": 10}',
    occurredAt: 1_600_000_000_000,
    createdAt: 1_600_000_001_000,
    traceParent: null,
    url: 'https://hooks.example.com/in',
    format: 'standard',
    headers: {},
    endpointActive: true,
    endpointGone: null,
    secrets: [SECRET],
    tenantToken: 'tok_abc',
    maxConcurrency: null,
    rateLimit: null,
    ordered: false,
    consecutiveFailures: 0,
    system: false,
    privateAllowed: false,
    ...over,
  };
}

const policy = new AddressPolicy([]);

function sent(d: ClaimedDelivery, addresses = policy): DeliveryRequest {
  const p = prepare(d, STARTED_AT, 'x-herald-webhook-token', addresses);
  assert.ok(p.send, `a request is sent (${JSON.stringify(p)})`);
  return p;
}

/** The Standard Webhooks signature of a body, computed here from the spec rather than by Herald's code. */
function expectedSignature(secret: string, id: string, timestamp: number, body: string | Buffer): string {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  return 'v1,' + createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
}

describe('prepare: the request a delivery sends', () => {
  it('posts the standard envelope to the endpoint URL, signed at the start time, with the tenant token', () => {
    const r = sent(delivery());
    assert.equal(r.url, 'https://hooks.example.com/in');
    assert.equal(r.body, '{"id":"evt_1","type":"invoice.paid","timestamp":"2020-09-13T12:26:40.000Z","data":{"amount": 10}}');
    assert.equal(r.headers['webhook-id'], 'evt_1');
    assert.equal(r.headers['webhook-timestamp'], '1700000000');
    assert.equal(r.headers['webhook-signature'], expectedSignature(SECRET, 'evt_1', 1_700_000_000, r.body));
    assert.equal(r.headers['x-herald-webhook-token'], 'tok_abc');
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['user-agent'], `Herald/${VERSION}`);
    assert.deepEqual(
      prepare(delivery(), STARTED_AT, 'x-herald-webhook-token', policy),
      r,
      'the same delivery at the same time: the same request',
    );
  });

  it('signs with every valid secret while one rotates, and names the token header as configured', () => {
    const other = 'whsec_' + Buffer.from('another secret').toString('base64');
    const r = prepare(delivery({ secrets: [SECRET, other] }), STARTED_AT, 'x-pfy-webhook-token', policy);
    assert.ok(r.send);
    assert.deepEqual(r.headers['webhook-signature'].split(' '), [
      expectedSignature(SECRET, 'evt_1', 1_700_000_000, r.body),
      expectedSignature(other, 'evt_1', 1_700_000_000, r.body),
    ]);
    assert.equal(r.headers['x-pfy-webhook-token'], 'tok_abc');
    assert.equal(r.headers['x-herald-webhook-token'], undefined);
  });

  it("adds the endpoint's own headers, which cannot replace the signature or the token", () => {
    const r = sent(delivery({ headers: { 'x-team': 'billing', 'webhook-signature': 'forged', 'x-herald-webhook-token': 'forged' } }));
    assert.equal(r.headers['x-team'], 'billing');
    assert.equal(r.headers['webhook-signature'], expectedSignature(SECRET, 'evt_1', 1_700_000_000, r.body));
    assert.equal(r.headers['x-herald-webhook-token'], 'tok_abc');
  });

  it("builds Productfy's envelope for a productfy endpoint", () => {
    const r = sent(delivery({ format: 'productfy' }));
    assert.deepEqual(JSON.parse(r.body as string), {
      id: 'evt_1',
      status: 'I',
      createdTs: '2020-09-13T12:26:41.000Z',
      callbackUrl: 'https://hooks.example.com/in',
      triggerType: 'invoice.paid',
      eventPayload: { amount: 10 },
      triggeringEventTs: '2020-09-13T12:26:40.000Z',
    });
  });

  it('forwards a received request as it came: its bytes, its content type, its headers but the hop-by-hop and redacted ones', () => {
    const body = Buffer.from('a=1&b=%C3%A9');
    const r = sent(
      delivery({
        format: 'original',
        original: {
          body,
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-provider-signature': 'abc',
            host: 'herald.local',
            'content-length': '12',
            authorization: 'Basic eA==',
            'x-secret': '[redacted]',
          },
        },
      }),
    );
    assert.equal(r.body, body, 'the exact bytes');
    assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
    assert.equal(r.headers['x-provider-signature'], 'abc');
    for (const h of ['host', 'content-length', 'authorization', 'x-secret']) assert.equal(r.headers[h], undefined, `${h} is not forwarded`);
    assert.equal(r.headers['webhook-signature'], expectedSignature(SECRET, 'evt_1', 1_700_000_000, body));
  });

  it('sends production deliveries through the address guard, and not those allowed private addresses', () => {
    assert.equal(sent(delivery()).guarded, true);
    assert.equal(sent(delivery({ privateAllowed: true, url: 'http://127.0.0.1:9/x' })).guarded, false);
    assert.equal(sent(delivery({ environment: 'sandbox' })).guarded, true);
    const lenient = new AddressPolicy([], { sandboxTenantPrivate: true });
    assert.equal(sent(delivery({ environment: 'sandbox', url: 'http://127.0.0.1:9/x' }), lenient).guarded, false);
  });

  it('refuses a literal private address as a failed attempt, and sends nothing', () => {
    for (const url of ['http://127.0.0.1:8080/x', 'http://[::1]/x', 'http://10.1.2.3/x', 'http://localhost/x']) {
      const host = new URL(url).hostname;
      assert.deepEqual(prepare(delivery({ url }), STARTED_AT, 'x-herald-webhook-token', policy), {
        send: false,
        attempted: true,
        error: `refused: ${host} is a private or reserved address`,
      });
    }
    const allowed = new AddressPolicy(['10.0.0.0/8']);
    assert.equal(sent(delivery({ url: 'http://10.1.2.3/x' }), allowed).guarded, true, 'an allowed range is sent, still through the guard');
  });

  it('sends nothing to an endpoint deleted or disabled since, and counts no attempt', () => {
    const none = (endpointGone: string | null) =>
      prepare(delivery({ endpointActive: false, endpointGone }), STARTED_AT, 'x-herald-webhook-token', policy);
    assert.deepEqual(none('deleted'), { send: false, attempted: false, error: 'endpoint deleted' });
    assert.deepEqual(none('answered 410 Gone'), { send: false, attempted: false, error: 'endpoint disabled: answered 410 Gone' });
    assert.deepEqual(none(null), { send: false, attempted: false, error: 'endpoint disabled or deleted' });
  });
});
