import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EndpointGates, type GateLimits } from '../../src/delivery/endpointGates.js';

// Per-endpoint admission (concurrency cap and rate limit), at a fixed clock: the state is in
// memory, so time is the only input besides the calls.
const NOW = 1_700_000_000_000;
const limits = (o: Partial<GateLimits> = {}): GateLimits => ({ endpointId: 'ep_a', maxConcurrency: null, rateLimit: null, ...o });

describe('endpoint gates', () => {
  it('admits up to the endpoint’s cap, then answers full, to try again shortly', () => {
    const gates = new EndpointGates(10);
    const l = limits({ maxConcurrency: 2 });
    assert.deepEqual([gates.admit(l, NOW), gates.admit(l, NOW)], [{ ok: true }, { ok: true }]);
    assert.deepEqual(gates.admit(l, NOW), { ok: false, reason: 'full', cap: 2, retryAt: NOW + 250 });
  });

  it('uses the default cap for an endpoint that sets none', () => {
    const gates = new EndpointGates(3);
    for (let i = 0; i < 3; i++) assert.deepEqual(gates.admit(limits(), NOW), { ok: true });
    assert.deepEqual(gates.admit(limits(), NOW), { ok: false, reason: 'full', cap: 3, retryAt: NOW + 250 });
  });

  it('keeps each endpoint’s count apart', () => {
    const gates = new EndpointGates(1);
    assert.deepEqual(gates.admit(limits(), NOW), { ok: true });
    assert.deepEqual(gates.admit(limits({ endpointId: 'ep_b' }), NOW), { ok: true });
    assert.equal(gates.admit(limits(), NOW).ok, false);
  });

  it('frees a slot on release, and says when the endpoint had been full', () => {
    const gates = new EndpointGates(10);
    const l = limits({ maxConcurrency: 2 });
    gates.admit(l, NOW);
    gates.admit(l, NOW);
    assert.equal(gates.release('ep_a'), true, 'it was full and has room now');
    assert.deepEqual(gates.admit(l, NOW), { ok: true });
    assert.equal(gates.release('ep_a'), true);
    assert.equal(gates.release('ep_a'), false, 'one in flight of two: it was not full');
    assert.equal(gates.release('ep_unknown'), false);
  });

  it('starts a rate limit with one second of tokens, then admits at the rate', () => {
    const gates = new EndpointGates(100);
    const l = limits({ rateLimit: 2 });
    assert.deepEqual([gates.admit(l, NOW), gates.admit(l, NOW)], [{ ok: true }, { ok: true }]);
    // No token left: the next one comes in half a second at 2 per second.
    assert.deepEqual(gates.admit(l, NOW), { ok: false, reason: 'rate', cap: 100, retryAt: NOW + 500 });
    assert.deepEqual(gates.admit(l, NOW + 250), { ok: false, reason: 'rate', cap: 100, retryAt: NOW + 500 });
    assert.deepEqual(gates.admit(l, NOW + 500), { ok: true });
    // A long pause fills the bucket to one second's worth, no more.
    assert.deepEqual([gates.admit(l, NOW + 60_000), gates.admit(l, NOW + 60_000)], [{ ok: true }, { ok: true }]);
    assert.equal(gates.admit(l, NOW + 60_000).ok, false);
  });

  it('takes a changed limit into account with the next delivery', () => {
    const gates = new EndpointGates(10);
    gates.admit(limits({ maxConcurrency: 1 }), NOW);
    assert.equal(gates.admit(limits({ maxConcurrency: 1 }), NOW).ok, false);
    assert.deepEqual(gates.admit(limits({ maxConcurrency: 3 }), NOW), { ok: true }, 'raised by a PATCH');
  });

  it('lists as saturated the endpoints at their cap or out of tokens, until they have room again', () => {
    const gates = new EndpointGates(10);
    gates.admit(limits({ endpointId: 'ep_capped', maxConcurrency: 1 }), NOW);
    gates.admit(limits({ endpointId: 'ep_rated', rateLimit: 1 }), NOW);
    gates.admit(limits({ endpointId: 'ep_roomy', maxConcurrency: 5 }), NOW);
    assert.deepEqual(gates.saturated(NOW).sort(), ['ep_capped', 'ep_rated']);
    // A second later the rate-limited endpoint has a token again; the capped one still has no slot.
    assert.deepEqual(gates.saturated(NOW + 1000), ['ep_capped']);
    gates.release('ep_capped');
    assert.deepEqual(gates.saturated(NOW + 1000), []);
  });
});
