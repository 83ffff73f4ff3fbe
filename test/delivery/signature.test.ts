import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sign, signatureHeader } from '../../src/delivery/signature.js';

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
