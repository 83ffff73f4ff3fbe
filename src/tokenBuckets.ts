/**
 * Token buckets by key, on this node: each holds up to `capacity` tokens and refills continuously
 * at `capacity` per `periodMs`, so a burst may spend a whole period's worth at once and a sustained
 * flood gets no more than that per period. With N nodes a key gets up to N times as much. A
 * capacity of 0 or less means no limit.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    readonly capacity: number,
    private readonly periodMs: number,
  ) {}

  /** Takes `cost` tokens from `key`'s bucket: answers 0 when it had them, or the ms until it will. */
  take(key: string, cost = 1, now = Date.now()): number {
    if (this.capacity <= 0) return 0;
    let b = this.buckets.get(key);
    if (!b) {
      // Keys are real key or source ids (unknown ones are refused before this), so this rarely
      // fills; clearing past it keeps memory bounded whatever happens.
      if (this.buckets.size > 100_000) this.buckets.clear();
      b = { tokens: this.capacity, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(this.capacity, b.tokens + ((now - b.at) / this.periodMs) * this.capacity);
    b.at = now;
    if (b.tokens < cost) return Math.ceil(((cost - b.tokens) / this.capacity) * this.periodMs);
    b.tokens -= cost;
    return 0;
  }
}
