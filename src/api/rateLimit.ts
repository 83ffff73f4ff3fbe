import { HeraldError } from '../errors.js';
import { TokenBuckets } from '../tokenBuckets.js';

/**
 * So many actions per second per key, on this node: a token bucket holding one second's worth, so
 * a short burst passes and a sustained flood does not. API keys get 429 with retry-after beyond
 * it; sources stop storing refused requests. With N nodes behind a load balancer a key gets up to
 * N times the rate.
 */
export class KeyRateLimiter {
  private readonly buckets: TokenBuckets;

  constructor(private readonly perSecond: number) {
    this.buckets = new TokenBuckets(perSecond, 1000);
  }

  /** Takes one; throws rate_limited (429 with retry-after) when none is left. */
  take(keyId: string, now = Date.now()): void {
    const wait = this.tryTake(keyId, now);
    if (wait > 0)
      throw new HeraldError('rate_limited', `this key is limited to ${this.perSecond} requests per second; retry in ${wait} s`, {
        retryAfter: wait,
      });
  }

  /** Takes one: answers 0, or the seconds until one is left. */
  tryTake(keyId: string, now = Date.now()): number {
    const waitMs = this.buckets.take(keyId, 1, now);
    return waitMs > 0 ? Math.max(1, Math.ceil(waitMs / 1000)) : 0;
  }
}
