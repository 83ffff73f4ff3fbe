/**
 * A small time-bounded cache for reads every API call would otherwise repeat (keys, tenants, event
 * types). A change made on this node is dropped from it at once; other nodes see it within the TTL.
 */
export class TtlCache<V> {
  private readonly map = new Map<string, { value: V; until: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 10_000,
  ) {}

  get(k: string): V | undefined {
    const hit = this.map.get(k);
    if (!hit) return undefined;
    if (hit.until < Date.now()) {
      this.map.delete(k);
      return undefined;
    }
    return hit.value;
  }

  set(k: string, value: V): void {
    if (this.map.size >= this.max) this.map.clear();
    this.map.set(k, { value, until: Date.now() + this.ttlMs });
  }

  /** Entries held, expired ones included until they are read or the cache is cleared. */
  get size(): number {
    return this.map.size;
  }

  delete(k: string): void {
    this.map.delete(k);
  }

  deleteWhere(pred: (v: V, k: string) => boolean): void {
    for (const [k, v] of this.map) if (pred(v.value, k)) this.map.delete(k);
  }
}
