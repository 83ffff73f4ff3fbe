import { HeraldError } from '../errors.js';

/**
 * So many actions per second per key, on this node: a token bucket holding one second's worth, so
 * a short burst passes and a sustained flood does not. API keys get 429 with retry-after beyond
 * it; sources stop storing refused requests. With N nodes behind a load balancer a key gets up to
 * N times the rate.
 */
export class KeyRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly perSecond: number) {}

  /** Takes one; throws rate_limited (429 with retry-after) when none is left. */
  take(keyId: string, now = Date.now()): void {
    const wait = this.tryTake(keyId, now);
    if (wait > 0) throw new HeraldError('rate_limited', `this key is limited to ${this.perSecond} requests per second; retry in ${wait} s`, { retryAfter: wait });
  }

  /** Takes one: answers 0, or the seconds until one is left. */
  tryTake(keyId: string, now = Date.now()): number {
    if (this.perSecond <= 0) return 0;
    let b = this.buckets.get(keyId);
    if (!b) {
      if (this.buckets.size > 100_000) this.buckets.clear();
      b = { tokens: this.perSecond, at: now };
      this.buckets.set(keyId, b);
    }
    b.tokens = Math.min(this.perSecond, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens < 1) return Math.max(1, Math.ceil((1 - b.tokens) / this.perSecond));
    b.tokens -= 1;
    return 0;
  }
}
