import { HeraldError } from '../errors.js';

/**
 * API requests per second per key, on this node: a token bucket holding one second's worth, so a
 * short burst passes and a sustained flood gets 429 with retry-after. With N nodes behind a load
 * balancer a key gets up to N times the rate.
 */
export class KeyRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perSecond: number) {}

  take(keyId: string, now = Date.now()): void {
    if (this.perSecond <= 0) return;
    let b = this.buckets.get(keyId);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear();
      b = { tokens: this.perSecond, at: now };
      this.buckets.set(keyId, b);
    }
    b.tokens = Math.min(this.perSecond, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens < 1) {
      const wait = Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
      throw new HeraldError('rate_limited', `this key is limited to ${this.perSecond} requests per second; retry in ${wait} s`, { retryAfter: wait });
    }
    b.tokens -= 1;
  }
}
