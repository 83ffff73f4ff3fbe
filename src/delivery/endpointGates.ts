// Per-endpoint admission, so one slow or failing endpoint cannot take the whole worker: at most
// `maxConcurrency` deliveries in flight to it, and at most `rateLimit` started per second (a token
// bucket holding one second of tokens). Limits hold per Herald node; the state lives in memory.

export interface GateLimits {
  endpointId: string;
  maxConcurrency: number | null;
  rateLimit: number | null;
}

interface Gate {
  inFlight: number;
  cap: number;
  rate: number | null;
  tokens: number;
  refilledAt: number;
}

export class EndpointGates {
  private readonly gates = new Map<string, Gate>();

  constructor(private readonly defaultConcurrency: number) {}

  private gate(l: GateLimits, now: number): Gate {
    let g = this.gates.get(l.endpointId);
    if (!g) {
      g = { inFlight: 0, cap: 0, rate: null, tokens: l.rateLimit ?? 0, refilledAt: now };
      this.gates.set(l.endpointId, g);
    }
    // Limits come with every delivery, so a PATCH takes effect on the next one.
    g.cap = l.maxConcurrency ?? this.defaultConcurrency;
    g.rate = l.rateLimit;
    if (g.rate !== null) {
      g.tokens = Math.min(g.rate, g.tokens + ((now - g.refilledAt) / 1000) * g.rate);
      g.refilledAt = now;
    }
    return g;
  }

  /**
   * Takes a slot (and a token) for one delivery, or says why not: `full` (wait for a slot) or
   * `rate` (try again at retryAt).
   */
  admit(l: GateLimits, now = Date.now()): { ok: true } | { ok: false; reason: 'full' | 'rate'; cap: number; retryAt: number } {
    const g = this.gate(l, now);
    if (g.inFlight >= g.cap) return { ok: false, reason: 'full', cap: g.cap, retryAt: now + 250 };
    if (g.rate !== null) {
      if (g.tokens < 1) return { ok: false, reason: 'rate', cap: g.cap, retryAt: now + Math.ceil(((1 - g.tokens) / g.rate) * 1000) };
      g.tokens -= 1;
    }
    g.inFlight++;
    return { ok: true };
  }

  /** A delivery to this endpoint finished. Answers true when the endpoint was full and has room now. */
  release(endpointId: string): boolean {
    const g = this.gates.get(endpointId);
    if (!g) return false;
    const wasFull = g.inFlight >= g.cap;
    g.inFlight--;
    if (g.inFlight <= 0 && (g.rate === null || g.tokens >= g.rate)) this.gates.delete(endpointId);
    return wasFull;
  }

  /** Endpoints that cannot take another delivery now: the claim query skips them. */
  saturated(now = Date.now()): string[] {
    const out: string[] = [];
    for (const [id, g] of this.gates) {
      const tokens = g.rate === null ? Infinity : g.tokens + ((now - g.refilledAt) / 1000) * g.rate;
      if (g.inFlight >= g.cap || tokens < 1) out.push(id);
    }
    return out;
  }
}
