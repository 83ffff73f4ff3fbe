import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { shareWhileBusy } from '../../src/inbound/inboundProcessor.js';

// While a burst of webhooks arrives, processing takes a share of the time that grows with how far
// it is behind: a twentieth just behind, a third once its oldest message is as old as the bound
// (HERALD_INBOUND_BURST_LAG), and a third throughout when the bound is 0.
describe('the inbound processor’s share of the time during a burst', () => {
  it('grows from a twentieth to a third as the lag reaches its bound', () => {
    assert.equal(shareWhileBusy(0, 5000), 0.05);
    assert.equal(shareWhileBusy(5000, 5000), 1 / 3);
    assert.ok(Math.abs(shareWhileBusy(2500, 5000) - (0.05 + 1 / 3) / 2) < 1e-12, 'halfway: halfway between');
    assert.equal(shareWhileBusy(60_000, 5000), 1 / 3, 'never more than a third while the burst lasts');
    assert.equal(shareWhileBusy(-20, 5000), 0.05, 'a clock a little behind the storing node’s counts as no lag');
  });

  it('is a third throughout with no bound', () => {
    assert.equal(shareWhileBusy(0, 0), 1 / 3);
    assert.equal(shareWhileBusy(10_000, 0), 1 / 3);
  });
});
