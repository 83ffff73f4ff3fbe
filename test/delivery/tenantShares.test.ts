import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TenantShares } from '../../src/delivery/tenantShares.js';

describe('tenant shares', () => {
  it('caps a tenant at its share and calls for a claim once a tenth of it is free again', () => {
    const s = new TenantShares(20);
    for (let i = 0; i < 20; i++) s.take('a');
    assert.ok(s.full('a'));
    assert.deepEqual(s.cappedTenants(), ['a']);
    assert.equal(s.free('a'), false, '19 held: not yet a tenth free');
    assert.equal(s.free('a'), true, '18 held: claim again');
    assert.deepEqual(s.cappedTenants(), []);
  });

  it('caps a tenant the claim stopped at its share even when slots it freed meanwhile left it below', () => {
    const s = new TenantShares(20);
    for (let i = 0; i < 19; i++) s.take('a');
    // The claim took all the share allowed, but a slot was freed while it ran: 19 held, not capped.
    assert.deepEqual(s.cappedTenants(), []);
    assert.equal(s.stoppedAtShare('a'), false, 'not enough room yet: wait for a freed slot');
    assert.deepEqual(s.cappedTenants(), ['a'], 'skipped by the claim until it has room');
    assert.equal(s.free('a'), true, 'the slot that gives it a tenth of its share calls for the claim');
  });

  it('answers "claim again now" when the tenant already has a tenth of its share free', () => {
    const s = new TenantShares(20);
    for (let i = 0; i < 18; i++) s.take('a');
    assert.equal(s.stoppedAtShare('a'), true);
    assert.deepEqual(s.cappedTenants(), []);
  });
});
