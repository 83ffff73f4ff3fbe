import { EndpointGates, type GateLimits } from './endpointGates.js';
import type { ClaimedDelivery } from './sql/claimDueDeliveries.js';

/** A delivery going back to the table without an attempt counted, due again at `dueAt`. */
export interface Deferral {
  id: string;
  leaseToken: string;
  dueAt: number;
}

/** Send it now (its endpoint slot is taken), it waits here for a slot, or it goes back to the table. */
export type Admission = 'send' | 'held' | Deferral;

interface Held {
  d: ClaimedDelivery;
  deadline: number;
}

/**
 * Each endpoint's gate (endpointGates.ts: its concurrency cap and rate limit) and the deliveries
 * waiting in memory for a slot on an endpoint at its cap. A delivery waits up to one more round
 * of the cap: enough to keep a busy endpoint's pipe full, not enough for a stuck endpoint to fill
 * the worker. Each has a deadline well inside its lease: one still waiting then goes back to the
 * table instead, like whatever the rate limit refuses (through `onReturn`).
 */
export class EndpointQueue {
  private readonly gates: EndpointGates;
  private readonly waiting = new Map<string, Held[]>();
  private held = 0;

  constructor(
    private readonly config: {
      endpointConcurrency: number;
      circuitThreshold: number;
      /** The most deliveries one tenant may hold in the worker (tenantShares.ts). */
      tenantCap: number;
    },
    /** The database's clock (db/clock.ts). */
    private readonly now: () => number,
    /** Held deliveries that will not be sent from here: back to the table, due at `dueAt`. */
    private readonly onReturn: (deliveries: ClaimedDelivery[], dueAt: number) => void,
  ) {
    this.gates = new EndpointGates(config.endpointConcurrency);
  }

  /** Deliveries waiting here for a slot. */
  get size(): number {
    return this.held;
  }

  /**
   * Whether `d` goes now (its slot taken), waits for a slot (until `deadline`), or goes back to
   * the table: its endpoint is at its cap with a full queue, or its rate limit refuses.
   */
  admit(d: ClaimedDelivery, now: number, deadline: number): Admission {
    const gate = this.gates.admit(this.limits(d), now);
    if (gate.ok) return 'send';
    const queue = this.waiting.get(d.endpointId) ?? [];
    if (gate.reason === 'full' && queue.length < gate.cap && deadline > now) {
      queue.push({ d, deadline });
      this.waiting.set(d.endpointId, queue);
      this.held++;
      return 'held';
    }
    return { id: d.id, leaseToken: d.leaseToken, dueAt: gate.retryAt };
  }

  /** A request to this endpoint ended: its slot opens. True when the endpoint was full. */
  release(endpointId: string): boolean {
    return this.gates.release(endpointId);
  }

  /** The next held delivery of this endpoint, if its gate admits one now (its slot taken). */
  next(endpointId: string): ClaimedDelivery | null {
    const queue = this.waiting.get(endpointId);
    if (!queue?.length) return null;
    const gate = this.gates.admit(this.limits(queue[0].d), this.now());
    if (!gate.ok) {
      // Refused by the rate limit, not for want of a slot: no slot opening will help, so the queue
      // goes back to the table, due when the bucket has tokens again.
      if (gate.reason === 'rate') this.giveBack(endpointId, gate.retryAt);
      return null;
    }
    const next = queue.shift()!.d;
    this.held--;
    if (queue.length === 0) this.waiting.delete(endpointId);
    return next;
  }

  /** Held deliveries past their deadline go back to the table, due now, for any worker. */
  expire(): void {
    const now = this.now();
    for (const [endpointId, queue] of this.waiting) {
      const expired = queue.findIndex((w) => w.deadline > now);
      this.giveBack(endpointId, now, expired === -1 ? queue.length : expired);
    }
  }

  /** Empties every queue (the worker stops): answers what was held, for its leases to be released. */
  drain(): ClaimedDelivery[] {
    const out: ClaimedDelivery[] = [];
    for (const queue of this.waiting.values()) for (const { d } of queue) out.push(d);
    this.waiting.clear();
    this.held = 0;
    return out;
  }

  /** Endpoints that cannot take another delivery now: the claim query skips them. */
  saturated(now: number): string[] {
    return this.gates.saturated(now);
  }

  /**
   * An endpoint at its circuit threshold gets one probe at a time. Otherwise its own cap, but never
   * more than four fifths of its tenant's share, so that one endpoint cannot shut its tenant's
   * other endpoints out either (by default the endpoint cap, 100, is well below that).
   */
  private limits(d: ClaimedDelivery): GateLimits {
    if (d.consecutiveFailures >= this.config.circuitThreshold) return { ...d, maxConcurrency: 1 };
    const share = Math.max(1, Math.floor((this.config.tenantCap * 4) / 5));
    const cap = d.maxConcurrency ?? this.config.endpointConcurrency;
    return cap > share ? { ...d, maxConcurrency: share } : d;
  }

  /** Hands the first `count` held deliveries of an endpoint back, due at `dueAt`. */
  private giveBack(endpointId: string, dueAt: number, count = Infinity): void {
    const queue = this.waiting.get(endpointId);
    if (!queue) return;
    const back = queue.splice(0, count).map(({ d }) => d);
    this.held -= back.length;
    if (queue.length === 0) this.waiting.delete(endpointId);
    if (back.length) this.onReturn(back, dueAt);
  }
}
