import { randomBytes } from 'node:crypto';
import type { Agent } from 'undici';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { type ClaimedDelivery, claimDueDeliveries } from '../deliveries/claimDueDeliveries.js';
import { type AttemptOutcome, deferDeliveries, recordAttempts, releaseLeases } from '../deliveries/recordAttempts.js';
import type { AddressPolicy } from '../endpoints/urlPolicy.js';
import type { LocalWorker } from '../events/eventWriter.js';
import type { SecretBox } from '../secrets/secretBox.js';
import type { Logger } from '../log.js';
import { VERSION } from '../version.js';
import { buildBody } from './body.js';
import { EndpointGates } from './endpointGates.js';
import type { OperatorEvents } from './operatorEvents.js';
import { nextRetryDelay } from './retryPolicy.js';
import { createAgent, send } from './send.js';
import { signatureHeader } from './signature.js';
import { Waker } from '../wake.js';

type DispatcherConfig = Pick<
  Config,
  'retrySchedule' | 'tokenHeader' | 'deliveryTimeoutMs' | 'leaseMs' | 'workerConcurrency' | 'endpointConcurrency' | 'tenantConcurrency' | 'pollIntervalMs' | 'circuitThreshold' | 'circuitCooldownMs' | 'disableAfterMs'
>;

/** The clock leases and due times are read from: the database's (db/clock.ts). */
export interface Clock {
  now(): number;
}

/**
 * The delivery worker of one process. The outbox writer hands it the deliveries this process
 * accepts (already leased, reserve() / handOver()); it claims the rest in batches: retries that
 * come due, deliveries other nodes accepted, leases that expired. It sends up to
 * `workerConcurrency` at once, each endpoint behind its gate, and one writer records finished
 * attempts in batches. It polls, and wake() makes it look at once.
 *
 * Fairness between tenants: no tenant holds more than `tenantConcurrency` of the worker's slots
 * (by default four fifths). The rest stays free for the others, so a tenant whose event arrives
 * while another one's slow backlog fills the worker is sent at once instead of queueing behind
 * it. What a tenant over its share is handed (the in-memory path) goes back to the table, due
 * now; the claim skips tenants at their share until they have freed a tenth of it, and takes
 * each batch round-robin across tenants, least busy tenants first. Within a tenant, one endpoint
 * gets at most four fifths of the tenant's share (limits()).
 */
export class Dispatcher implements LocalWorker {
  private readonly agent: Agent;
  /** Deliveries to endpoints not allowed private addresses: the same pools behind the SSRF guard. */
  private readonly guardedAgent: Agent;
  private readonly processTag = randomBytes(6).toString('hex');
  private batchSeq = 0;
  private inFlight = 0;
  private readonly leases = new Map<string, number>(); // lease token → deliveries still held
  private stopping = false;
  private readonly waker = new Waker();
  private loopDone: Promise<void> | null = null;
  private pending: AttemptOutcome[] = [];
  private flushing: Promise<void> | null = null;
  private idle: (() => void) | null = null;
  private readonly gates: EndpointGates;
  /**
   * Held deliveries waiting for a slot on their endpoint, which is at its concurrency cap. Each has
   * a deadline well inside its lease: one still waiting then goes back to the table instead.
   */
  private readonly waiting = new Map<string, { d: ClaimedDelivery; deadline: number }[]>();
  /** Deliveries each tenant holds in this worker (sending, recording or held for a slot). */
  private readonly tenantLoad = new Map<string, number>();
  /**
   * Tenants that reached their share, skipped by the claim until they are a tenth of it below
   * (hysteresis: one claim per freed batch of slots, not one per finished delivery).
   */
  private readonly capped = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly config: DispatcherConfig,
    private readonly addresses: AddressPolicy,
    private readonly box: SecretBox,
    private readonly log: Logger,
    /** Where the worker reports operational events; only `emit` is used, so tests can pass a plain object. */
    private readonly operator: Pick<OperatorEvents, 'emit'> | null = null,
    private readonly clock: Clock = { now: Date.now },
  ) {
    this.agent = createAgent();
    this.guardedAgent = createAgent(addresses);
    this.gates = new EndpointGates(config.endpointConcurrency);
  }

  start(): void {
    this.loopDone = this.loop();
  }

  reserve(n: number): { token: string; until: number } | null {
    if (this.stopping || !this.loopDone || this.inFlight + n > this.config.workerConcurrency) return null;
    this.inFlight += n;
    const token = `${this.processTag}:${++this.batchSeq}`;
    this.leases.set(token, n);
    return { token, until: this.now() + this.config.leaseMs };
  }

  handOver(token: string, deliveries: ClaimedDelivery[], reserved: number): void {
    // The reservation already counts in inFlight; dispatch() counts each delivery again.
    this.inFlight -= reserved;
    this.leases.delete(token);
    this.accept(token, deliveries);
    if (this.inFlight === 0) this.idle?.();
  }

  /** The database's time (db/clock.ts): leases and due times are compared across nodes. */
  private now(): number {
    return this.clock.now();
  }

  private get tenantCap(): number {
    return Math.min(this.config.tenantConcurrency, this.config.workerConcurrency);
  }

  /** A tenant takes a slot in this worker. */
  private takeTenant(tenantId: string): void {
    const load = (this.tenantLoad.get(tenantId) ?? 0) + 1;
    this.tenantLoad.set(tenantId, load);
    if (load >= this.tenantCap) this.capped.add(tenantId);
  }

  /** A tenant gives a slot back; true when it just left the capped set (worth a claim). */
  private freeTenant(tenantId: string): boolean {
    const load = (this.tenantLoad.get(tenantId) ?? 1) - 1;
    if (load <= 0) this.tenantLoad.delete(tenantId);
    else this.tenantLoad.set(tenantId, load);
    if (this.capped.has(tenantId) && load <= this.tenantCap - Math.ceil(this.tenantCap / 10)) {
      this.capped.delete(tenantId);
      return true;
    }
    return false;
  }

  /**
   * Sends what its tenant's share and its endpoint's gate admit. A delivery to an endpoint at its
   * concurrency cap waits here for a slot, up to one more round of the cap: enough to keep a busy
   * endpoint's pipe full, not enough for a stuck endpoint to fill the worker. The rest, what a
   * rate limit refuses, and what a tenant has beyond its share of the worker go back to the
   * table, due when they can be sent, without counting an attempt.
   */
  private accept(token: string, deliveries: ClaimedDelivery[]): void {
    const deferred: { id: string; leaseToken: string; dueAt: number }[] = [];
    const now = this.now();
    // Leave room for one attempt at full timeout before the lease would end.
    const deadline = now + this.config.leaseMs - this.config.deliveryTimeoutMs - 5000;
    let held = 0;
    for (const d of deliveries) {
      if ((this.tenantLoad.get(d.tenantId) ?? 0) >= this.tenantCap) {
        // Due now: the claim skips this tenant until it has room, and then takes these first.
        deferred.push({ id: d.id, leaseToken: d.leaseToken, dueAt: now });
        continue;
      }
      const gate = this.gates.admit(this.limits(d), now);
      if (gate.ok) {
        held++;
        this.takeTenant(d.tenantId);
        this.dispatch(d);
        continue;
      }
      const queue = this.waiting.get(d.endpointId) ?? [];
      if (gate.reason === 'full' && queue.length < gate.cap && deadline > now) {
        queue.push({ d, deadline });
        this.waiting.set(d.endpointId, queue);
        this.inFlight++; // held: it counts against the worker's room like a delivery being sent
        this.takeTenant(d.tenantId);
        held++;
      } else {
        deferred.push({ id: d.id, leaseToken: d.leaseToken, dueAt: gate.retryAt });
      }
    }
    if (held) this.leases.set(token, (this.leases.get(token) ?? 0) + held);
    this.handBack(deferred);
  }

  /** Deliveries back to the table, due at their `dueAt`, no attempt counted. */
  private handBack(items: { id: string; leaseToken: string; dueAt: number }[]): void {
    if (items.length === 0) return;
    deferDeliveries(this.db, items).catch((err) =>
      this.log.error({ err, count: items.length }, 'handing deliveries back failed; they come due when their lease ends'),
    );
  }

  /** New work may be due: look now instead of at the next poll. */
  wake(): void {
    this.waker.wake();
  }

  private async loop(): Promise<void> {
    while (!this.stopping) {
      let claimed = 0;
      let asked = 0;
      this.expireWaiting();
      try {
        const room = this.config.workerConcurrency - this.inFlight;
        if (room > 0) {
          asked = Math.min(room, 100);
          const token = `${this.processTag}:${++this.batchSeq}`;
          const now = this.now();
          const batch = await claimDueDeliveries(this.db, this.box, {
            limit: asked,
            leaseMs: this.config.leaseMs,
            leaseToken: token,
            skipEndpoints: this.gates.saturated(now),
            skipTenants: [...this.capped],
            tenantLoads: Object.fromEntries(this.tenantLoad),
            tenantCap: this.tenantCap,
            now,
          });
          claimed = batch.length;
          this.accept(token, batch);
        }
      } catch (err) {
        // The database may be restarting: wait for the next poll and try again.
        this.log.error({ err }, 'claiming due deliveries failed; retrying at the next poll');
      }
      if (claimed > 0 && claimed === asked) continue; // there may be more due right now
      await this.waker.sleep(this.config.pollIntervalMs);
    }
  }

  /** Sends one admitted delivery (its tenant's slot is already taken). */
  private dispatch(d: ClaimedDelivery): void {
    this.inFlight++;
    let endpointFreed = false;
    // The endpoint's slot opens when its HTTP request ends; the worker's when the result is recorded.
    const requestEnded = () => {
      const wasFull = this.gates.release(d.endpointId);
      endpointFreed = !this.sendWaiting(d.endpointId) && wasFull;
    };
    this.attempt(d)
      .then(
        (o) => (requestEnded(), this.record(o)),
        (err) => (requestEnded(), Promise.reject(err)),
      )
      .catch((err) => this.log.error({ err, deliveryId: d.id }, 'delivery attempt crashed'))
      .finally(() => {
        this.inFlight--;
        const tenantFreed = this.freeTenant(d.tenantId);
        this.forgetLease(d.leaseToken);
        if (this.inFlight === 0) this.idle?.();
        if (!this.stopping && (endpointFreed || tenantFreed || this.inFlight === this.config.workerConcurrency - 1)) this.wake();
      });
  }

  /**
   * An endpoint at its circuit threshold gets one probe at a time. Otherwise its own cap, but never
   * more than four fifths of its tenant's share, so that one endpoint cannot shut its tenant's
   * other endpoints out either (by default the endpoint cap, 100, is well below that).
   */
  private limits(d: ClaimedDelivery) {
    if (d.consecutiveFailures >= this.config.circuitThreshold) return { ...d, maxConcurrency: 1 };
    const share = Math.max(1, Math.floor((this.tenantCap * 4) / 5));
    const cap = d.maxConcurrency ?? this.config.endpointConcurrency;
    return cap > share ? { ...d, maxConcurrency: share } : d;
  }

  /** A slot opened on this endpoint: send the next held delivery, if any. */
  private sendWaiting(endpointId: string): boolean {
    const queue = this.waiting.get(endpointId);
    if (!queue?.length || this.stopping) return false;
    const gate = this.gates.admit(this.limits(queue[0].d), this.now());
    if (!gate.ok) {
      // Refused by the rate limit, not for want of a slot: no slot opening will help, so the queue
      // goes back to the table, due when the bucket has tokens again.
      if (gate.reason === 'rate') this.returnWaiting(endpointId, gate.retryAt);
      return false;
    }
    const next = queue.shift()!.d;
    if (queue.length === 0) this.waiting.delete(endpointId);
    this.inFlight--; // dispatch() counts it again
    this.dispatch(next);
    return true;
  }

  /** Held deliveries past their deadline go back to the table, due now, for any worker. */
  private expireWaiting(): void {
    const now = this.now();
    for (const [endpointId, queue] of this.waiting) {
      const expired = queue.findIndex((w) => w.deadline > now);
      this.returnWaiting(endpointId, now, expired === -1 ? queue.length : expired);
    }
  }

  /** Hands the first `count` held deliveries of an endpoint back to the table, due at `dueAt`. */
  private returnWaiting(endpointId: string, dueAt: number, count = Infinity): void {
    const queue = this.waiting.get(endpointId);
    if (!queue) return;
    const back = queue.splice(0, count).map(({ d }) => {
      this.inFlight--;
      this.freeTenant(d.tenantId);
      this.forgetLease(d.leaseToken);
      return { id: d.id, leaseToken: d.leaseToken, dueAt };
    });
    if (queue.length === 0) this.waiting.delete(endpointId);
    this.handBack(back);
  }

  private forgetLease(token: string): void {
    const left = (this.leases.get(token) ?? 1) - 1;
    if (left <= 0) this.leases.delete(token);
    else this.leases.set(token, left);
  }

  private async attempt(d: ClaimedDelivery): Promise<AttemptOutcome> {
    const startedAt = this.now();
    const attempt = d.attempts + 1;
    const owner = d.system ? null : { environment: d.environment, tenantId: d.tenantId };
    const base = { deliveryId: d.id, eventId: d.eventId, endpointId: d.endpointId, owner, leaseToken: d.leaseToken, attempt, startedAt };
    if (!d.endpointActive) {
      // Disabled or deleted after the event was accepted: no request; it can be resent later.
      const why = d.endpointGone === 'deleted' ? 'endpoint deleted' : d.endpointGone ? `endpoint disabled: ${d.endpointGone}` : 'endpoint disabled or deleted';
      return { ...base, attempted: false, durationMs: 0, statusCode: null, error: why, responseBody: null, next: { status: 'F' } };
    }
    const guarded = this.addresses.guards(d);
    const host = new URL(d.url).hostname;
    if (guarded && this.addresses.isBlocked(host)) {
      // A literal address never goes through DNS: check it here (an allowlist may have changed).
      return { ...base, attempted: true, durationMs: 0, statusCode: null, error: `refused: ${host} is a private or reserved address`, responseBody: null, next: { status: 'F' } };
    }
    const body = d.original?.body ?? buildBody(d);
    const timestamp = Math.floor(startedAt / 1000);
    const headers: Record<string, string> = {
      ...(d.original && originalHeaders(d.original.headers)),
      ...d.headers,
      'content-type': d.original?.headers['content-type'] ?? 'application/json',
      'user-agent': `Herald/${VERSION}`,
      'webhook-id': d.eventId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(d.secrets, d.eventId, timestamp, body),
      [this.config.tokenHeader]: d.tenantToken,
    };
    const r = await send(guarded ? this.guardedAgent : this.agent, d.url, headers, body, this.config.deliveryTimeoutMs);
    const ok = r.statusCode !== null && r.statusCode >= 200 && r.statusCode < 300;
    let next: AttemptOutcome['next'] = { status: 'S' };
    let error = r.error;
    if (!ok) {
      if (r.statusCode !== null && r.statusCode >= 300 && r.statusCode < 400) error = `redirect (${r.statusCode}) not followed`;
      else if (r.statusCode !== null) error = `endpoint answered ${r.statusCode}`;
      // 410 Gone: the endpoint says it will never take this again (it is disabled in the same
      // write); retrying would only turn the 410 into "endpoint disabled" on the delivery.
      const delay = r.statusCode === 410 ? null : nextRetryDelay(this.config.retrySchedule, attempt - d.scheduleStart, r.retryAfterMs);
      next = delay === null ? { status: 'F' } : { status: 'I', dueAt: this.now() + delay };
    }
    return { ...base, attempted: true, durationMs: r.durationMs, statusCode: r.statusCode, error, responseBody: r.responseBody, next };
  }

  /** Queues an outcome; one flush at a time writes everything queued since the last one. */
  private record(o: AttemptOutcome): Promise<void> {
    this.pending.push(o);
    return this.flush();
  }

  /**
   * Operational events for what a flush changed, told from the batch's own outcomes (a transition
   * always comes from an attempt in the batch); never about the operator's own endpoint.
   */
  private report(result: Awaited<ReturnType<typeof recordAttempts>>, batch: AttemptOutcome[]): void {
    if (!this.operator) return;
    for (const t of result.transitions) {
      const last = batch.findLast((o) => o.endpointId === t.endpointId && o.owner);
      if (!last?.owner) continue;
      const { environment, tenantId } = last.owner;
      const base = { endpointId: t.endpointId, tenantId };
      if (t.kind === 'disabled') this.operator.emit(environment, 'endpoint.disabled', { ...base, reason: t.reason });
      else if (t.kind === 'recovered') this.operator.emit(environment, 'endpoint.recovered', { ...base, failingSince: new Date(t.failingSince).toISOString() });
      else this.operator.emit(environment, 'delivery.failing', { ...base, consecutiveFailures: t.failures, lastStatusCode: last.statusCode, lastError: last.error });
    }
    for (const x of result.exhausted) {
      const o = batch.find((b) => b.deliveryId === x.deliveryId);
      if (!o?.owner) continue;
      this.operator.emit(o.owner.environment, 'delivery.exhausted', {
        deliveryId: x.deliveryId, eventId: o.eventId, endpointId: x.endpointId, tenantId: o.owner.tenantId, attempts: o.attempt, lastStatusCode: o.statusCode, lastError: o.error,
      });
    }
  }

  private flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      await new Promise((r) => setImmediate(r)); // let the outcomes of this I/O phase join the batch
      while (this.pending.length) {
        const batch = this.pending;
        this.pending = [];
        try {
          const result = await recordAttempts(
            this.db,
            batch,
            { threshold: this.config.circuitThreshold, cooldownMs: this.config.circuitCooldownMs, disableAfterMs: this.config.disableAfterMs },
            this.now(),
          );
          for (const { outcome, error } of result.unrecorded) {
            this.log.error({ err: error, deliveryId: outcome.deliveryId }, 'recording an attempt failed; that delivery will be retried when its lease expires');
          }
          this.report(result, batch);
        } catch (err) {
          // Not recorded: the lease will run out and the delivery will be tried again
          // (at-least-once). Keep going with the next batch.
          this.log.error({ err, count: batch.length }, 'recording attempts failed; those deliveries will be retried when their lease expires');
        }
      }
      this.flushing = null;
    })();
    return this.flushing;
  }

  /**
   * Graceful stop: claim nothing more, let what is in flight finish (up to `graceMs`), record it,
   * and hand back whatever is still held so another worker can take it at once.
   */
  async stop(graceMs = this.config.deliveryTimeoutMs + 1000): Promise<void> {
    this.stopping = true;
    this.wake();
    await this.loopDone;
    // Held deliveries will not be sent now: their leases are released below with the rest.
    for (const queue of this.waiting.values()) {
      for (const { d } of queue) this.freeTenant(d.tenantId);
      this.inFlight -= queue.length;
    }
    this.waiting.clear();
    await this.waitIdle(graceMs);
    await this.flush();
    const released = await releaseLeases(this.db, [...this.leases.keys()], this.now()).catch(() => 0);
    if (released) this.log.info({ released }, 'released deliveries still in flight');
    // Anything still running past the grace period is cut off; its late result cannot change the
    // delivery any more (the lease token is gone), but its attempt is still logged.
    await Promise.all([this.agent.destroy(), this.guardedAgent.destroy()]).catch(() => undefined);
    await this.waitIdle(1000);
    await this.flush();
  }

  /** Until nothing is in flight, or `ms` have passed. */
  private async waitIdle(ms: number): Promise<void> {
    if (this.inFlight === 0) return;
    await Promise.race([new Promise<void>((r) => (this.idle = r)), new Promise((r) => setTimeout(r, ms).unref())]);
  }
}

// Headers of a received request that describe the hop, not the message: not forwarded. What is
// left (the provider's signature, event name, delivery id) lets a receiver verify the original.
const HOP = new Set(['host', 'connection', 'keep-alive', 'content-length', 'transfer-encoding', 'te', 'trailer', 'upgrade', 'expect', 'proxy-authorization', 'authorization']);

function originalHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) if (!HOP.has(k) && v !== '[redacted]') out[k] = v;
  return out;
}
