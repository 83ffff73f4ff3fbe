/**
 * Each tenant's share of one worker's slots, so that no tenant's backlog fills the worker: a
 * tenant holding `cap` deliveries (sending, recording or held for a slot) gets no more until one
 * finishes. The claim skips tenants at their share (`capped`) until they have freed a tenth of it
 * (hysteresis: one claim per freed batch of slots, not one per finished delivery), and serves the
 * least busy tenants first (`loads`).
 */
export class TenantShares {
  /** Deliveries each tenant holds in this worker. */
  private readonly load = new Map<string, number>();
  /** Tenants that reached their share, skipped by the claim until they are a tenth of it below. */
  private readonly capped = new Set<string>();

  constructor(readonly cap: number) {}

  /** Whether the tenant holds its whole share: what it is handed now goes back to the table. */
  full(tenantId: string): boolean {
    return (this.load.get(tenantId) ?? 0) >= this.cap;
  }

  /** A tenant takes a slot in this worker. */
  take(tenantId: string): void {
    const load = (this.load.get(tenantId) ?? 0) + 1;
    this.load.set(tenantId, load);
    if (load >= this.cap) this.capped.add(tenantId);
  }

  /** A tenant gives a slot back; true when it just left the capped set (worth a claim). */
  free(tenantId: string): boolean {
    const load = (this.load.get(tenantId) ?? 1) - 1;
    if (load <= 0) this.load.delete(tenantId);
    else this.load.set(tenantId, load);
    if (this.capped.has(tenantId) && load <= this.cap - Math.ceil(this.cap / 10)) {
      this.capped.delete(tenantId);
      return true;
    }
    return false;
  }

  /**
   * The claim gave this tenant all its share allowed: what it held when the claim was asked, plus
   * what the claim took for it, reached the cap. Slots it freed while the claim ran may leave it
   * below the cap now, and then it never became capped, so no freed slot would call for another
   * claim: the deliveries the share held back waited for the next poll (a second, by default). It
   * is capped now like a tenant that reached its share; true when it already has a tenth of its
   * share free (claim again at once).
   */
  stoppedAtShare(tenantId: string): boolean {
    if ((this.load.get(tenantId) ?? 0) <= this.cap - Math.ceil(this.cap / 10)) return true;
    this.capped.add(tenantId);
    return false;
  }

  /** The tenants the claim skips. */
  cappedTenants(): string[] {
    return [...this.capped];
  }

  /** Deliveries each tenant holds, for the claim's order. */
  loads(): Record<string, number> {
    return Object.fromEntries(this.load);
  }
}
