import { randomBytes } from 'node:crypto';
import type { Agent } from 'undici';
import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import type { AddressPolicy } from '../endpoints/urlPolicy.js';
import type { LocalWorker } from '../events/eventWriter.js';
import type { Logger } from '../log.js';
import type { OperatorEvents } from '../operator/operatorEvents.js';
import { PollLoop } from '../runtime/pollLoop.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { AttemptRecorder, attemptOutcome } from './attemptRecorder.js';
import { classify, failureReason, REFUSED } from './classify.js';
import { type Deferral, EndpointQueue } from './endpointQueue.js';
import { reportToOperator } from './operatorReport.js';
import { prepare } from './prepare.js';
import { createAgent, send } from './send.js';
import { type ClaimedDelivery, claimDueDeliveries } from './sql/claimDueDeliveries.js';
import { type AttemptOutcome, deferDeliveries, releaseLeases } from './sql/recordAttempts.js';
import { TenantShares } from './tenantShares.js';
import type { Metrics } from '../observability/metrics.js';
import type { Tracing } from '../observability/tracing.js';
import { endAttemptSpan, startAttemptSpan } from './attemptSpan.js';

type DispatcherConfig = Pick<
  Config,
  | 'retrySchedule'
  | 'tokenHeader'
  | 'deliveryTimeoutMs'
  | 'leaseMs'
  | 'workerConcurrency'
  | 'endpointConcurrency'
  | 'tenantConcurrency'
  | 'pollIntervalMs'
  | 'circuitThreshold'
  | 'circuitCooldownMs'
  | 'disableAfterMs'
>;

/** The clock leases and due times are read from: the database's (db/clock.ts). */
export interface Clock {
  now(): number;
}

/**
 * The delivery worker of one process. The outbox writer hands it the deliveries this process
 * accepts (already leased, reserve() / handOver()); its poll loop claims the rest in batches:
 * retries that come due, deliveries other nodes accepted, leases that expired. It sends up to
 * `workerConcurrency` at once, each endpoint behind its gate, and one writer records finished
 * attempts in batches. It polls, and wake() makes it look at once.
 *
 * Each delivery goes through typed steps: admission (its tenant's share, tenantShares.ts; its
 * endpoint's gate and wait queue, endpointQueue.ts), `prepare` (the signed request, and whether it
 * goes through the SSRF guard), `send`, `classify` (delivered, retry at T, given up), and the
 * attempt recorder (batched writes, then operational events, operatorReport.ts).
 *
 * Fairness between tenants: no tenant holds more than `tenantConcurrency` of the worker's slots
 * (by default four fifths). The rest stays free for the others, so a tenant whose event arrives
 * while another one's slow backlog fills the worker is sent at once instead of queueing behind
 * it. What a tenant over its share is handed (the in-memory path) goes back to the table, due
 * now; the claim skips tenants at their share until they have freed a tenth of it, and takes
 * each batch round-robin across tenants, least busy tenants first. Within a tenant, one endpoint
 * gets at most four fifths of the tenant's share (EndpointQueue.limits).
 */
export class Dispatcher implements LocalWorker {
  private readonly agent: Agent;
  /** Deliveries to endpoints not allowed private addresses: the same pools behind the SSRF guard. */
  private readonly guardedAgent: Agent;
  private readonly processTag = randomBytes(6).toString('hex');
  private batchSeq = 0;
  /** Room reserved for the outbox writer's handovers, by lease token, until handed over. */
  private readonly reservations = new Map<string, number>();
  /** Deliveries being sent or recorded. */
  private readonly running = new Set<ClaimedDelivery>();
  private readonly shares: TenantShares;
  private readonly queue: EndpointQueue;
  private readonly recorder: AttemptRecorder;
  private readonly loop: PollLoop;
  private idle: (() => void) | null = null;
  private stopped: Promise<void> | null = null;

  constructor(
    private readonly db: Db,
    private readonly config: DispatcherConfig,
    private readonly addresses: AddressPolicy,
    private readonly box: SecretBox,
    private readonly log: Logger,
    /** Where the worker reports operational events; only `emit` is used, so tests can pass a plain object. */
    private readonly operator: Pick<OperatorEvents, 'emit'> | null = null,
    private readonly clock: Clock = { now: Date.now },
    /** Counts recorded attempts (GET /metrics) and traces each attempt (OpenTelemetry), when given. */
    private readonly observers: { metrics?: Pick<Metrics, 'recorded'>; tracing?: Tracing | null } = {},
  ) {
    this.agent = createAgent();
    this.guardedAgent = createAgent(addresses);
    const now = () => this.now();
    this.shares = new TenantShares(Math.min(config.tenantConcurrency, config.workerConcurrency));
    this.queue = new EndpointQueue(
      { endpointConcurrency: config.endpointConcurrency, circuitThreshold: config.circuitThreshold, tenantCap: this.shares.cap },
      now,
      (held, dueAt) => this.returnHeld(held, dueAt),
    );
    this.recorder = new AttemptRecorder(
      db,
      { threshold: config.circuitThreshold, cooldownMs: config.circuitCooldownMs, disableAfterMs: config.disableAfterMs },
      now,
      log,
      (result, batch) => {
        this.observers.metrics?.recorded(result, batch);
        if (this.operator) reportToOperator(this.operator, result, batch);
      },
    );
    this.loop = new PollLoop(() => this.step(), { what: 'claiming due deliveries', intervalMs: config.pollIntervalMs, log });
  }

  start(): void {
    this.loop.start();
  }

  /**
   * Deliveries this worker holds room for: reserved for a handover, held for an endpoint slot, or
   * being sent and recorded. Counted from those three, never kept by hand.
   */
  private get inFlight(): number {
    let reserved = 0;
    if (this.reservations.size) for (const n of this.reservations.values()) reserved += n;
    return reserved + this.queue.size + this.running.size;
  }

  private get stopping(): boolean {
    return this.loop.stopping;
  }

  reserve(n: number): { token: string; until: number } | null {
    if (this.loop.state !== 'running' || this.inFlight + n > this.config.workerConcurrency) return null;
    const token = this.newLeaseToken();
    this.reservations.set(token, n);
    return { token, until: this.now() + this.config.leaseMs };
  }

  handOver(token: string, deliveries: ClaimedDelivery[]): void {
    // The reservation's room becomes the room of what was handed over (the rest is given back).
    this.reservations.delete(token);
    this.accept(deliveries);
    if (this.inFlight === 0) this.idle?.();
  }

  /** New work may be due: look now instead of at the next poll. */
  wake(): void {
    this.loop.wake();
  }

  /**
   * One round of the poll loop: held deliveries past their deadline go back, then a batch of due
   * deliveries is claimed (as many as there is room for, up to 100) and admitted. Answers true
   * when the batch was full: more may be due right now, so the loop claims again at once.
   */
  async step(): Promise<boolean> {
    this.queue.expire();
    const room = this.config.workerConcurrency - this.inFlight;
    if (room <= 0) return false;
    const asked = Math.min(room, 100);
    const now = this.now();
    const loads = this.shares.loads();
    const batch = await claimDueDeliveries(this.db, this.box, {
      limit: asked,
      leaseMs: this.config.leaseMs,
      leaseToken: this.newLeaseToken(),
      skipEndpoints: this.queue.saturated(now),
      skipTenants: this.shares.cappedTenants(),
      tenantLoads: loads,
      tenantCap: this.shares.cap,
      now,
    });
    this.accept(batch);
    return (batch.length > 0 && batch.length === asked) || this.stoppedAtShares(batch, loads);
  }

  /**
   * Whether a tenant's share, not an empty table, cut this claim short, and that tenant already
   * has room again (claim at once). Every tenant the claim stopped at its share is capped, so the
   * slot that gives it room wakes the loop (tenantShares.ts stoppedAtShare).
   */
  private stoppedAtShares(batch: ClaimedDelivery[], loads: Record<string, number>): boolean {
    const got = new Map<string, number>();
    for (const d of batch) got.set(d.tenantId, (got.get(d.tenantId) ?? 0) + 1);
    let again = false;
    for (const [tenantId, n] of got) {
      if ((loads[tenantId] ?? 0) + n >= this.shares.cap && this.shares.stoppedAtShare(tenantId)) again = true;
    }
    return again;
  }

  /** The database's time (db/clock.ts): leases and due times are compared across nodes. */
  private now(): number {
    return this.clock.now();
  }

  private newLeaseToken(): string {
    return `${this.processTag}:${++this.batchSeq}`;
  }

  /**
   * Sends what its tenant's share and its endpoint's gate admit; a delivery to an endpoint at its
   * concurrency cap may wait for a slot (endpointQueue.ts). The rest, what a rate limit refuses,
   * and what a tenant has beyond its share of the worker go back to the table, due when they can
   * be sent, without counting an attempt.
   */
  private accept(deliveries: ClaimedDelivery[]): void {
    const deferred: Deferral[] = [];
    const now = this.now();
    // Leave room for one attempt at full timeout before the lease would end.
    const deadline = now + this.config.leaseMs - this.config.deliveryTimeoutMs - 5000;
    for (const d of deliveries) {
      if (this.shares.full(d.tenantId)) {
        // Due now: the claim skips this tenant until it has room, and then takes these first.
        deferred.push({ id: d.id, leaseToken: d.leaseToken, dueAt: now });
        continue;
      }
      const admission = this.queue.admit(d, now, deadline);
      if (admission === 'send') {
        this.shares.take(d.tenantId);
        this.dispatch(d);
      } else if (admission === 'held') {
        // Held: it counts against its tenant's share and the worker's room like one being sent.
        this.shares.take(d.tenantId);
      } else {
        deferred.push(admission);
      }
    }
    this.handBack(deferred);
  }

  /** Held deliveries the endpoint queue gives back (past their deadline, or rate-limited). */
  private returnHeld(held: ClaimedDelivery[], dueAt: number): void {
    this.handBack(
      held.map((d) => {
        this.shares.free(d.tenantId);
        return { id: d.id, leaseToken: d.leaseToken, dueAt };
      }),
    );
  }

  /** Deliveries back to the table, due at their `dueAt`, no attempt counted. */
  private handBack(items: Deferral[]): void {
    if (items.length === 0) return;
    deferDeliveries(this.db, items).catch((err) =>
      this.log.error({ err, count: items.length }, 'handing deliveries back failed; they come due when their lease ends'),
    );
  }

  /** Sends one admitted delivery (its tenant's slot and its endpoint's slot are already taken). */
  private dispatch(d: ClaimedDelivery): void {
    this.running.add(d);
    let endpointFreed = false;
    let tenantFreed = false;
    // The endpoint's slot and the tenant's open when its HTTP request ends (a share is of what is
    // being sent); the worker's room when the result is recorded. Held until the record, a busy
    // tenant's share filled with deliveries already sent whenever the recorder lagged, and its own
    // new events went back to the table to be claimed later instead of being handed over.
    const requestEnded = () => {
      const wasFull = this.queue.release(d.endpointId);
      tenantFreed = this.shares.free(d.tenantId);
      const next = this.stopping ? null : this.queue.next(d.endpointId);
      if (next) this.dispatch(next);
      endpointFreed = !next && wasFull;
    };
    this.attempt(d)
      .then(
        (o) => (requestEnded(), this.recorder.record(o)),
        (err: unknown) => {
          requestEnded();
          throw err;
        },
      )
      .catch((err) => this.log.error({ err, deliveryId: d.id }, 'delivery attempt crashed'))
      .finally(() => {
        this.running.delete(d);
        const inFlight = this.inFlight;
        if (inFlight === 0) this.idle?.();
        if (!this.stopping && (endpointFreed || tenantFreed || inFlight === this.config.workerConcurrency - 1)) this.wake();
      });
  }

  /** prepare → send → classify: the outcome the recorder writes. */
  private async attempt(d: ClaimedDelivery): Promise<AttemptOutcome> {
    const startedAt = this.now();
    const req = prepare(d, startedAt, this.config.tokenHeader, this.addresses);
    if (!req.send) return attemptOutcome(d, startedAt, req.attempted, null, req.error, REFUSED);
    const span = this.observers.tracing ? startAttemptSpan(this.observers.tracing, d, req) : null;
    const r = await send(req.guarded ? this.guardedAgent : this.agent, req.url, req.headers, req.body, this.config.deliveryTimeoutMs);
    if (span) endAttemptSpan(span, r);
    return attemptOutcome(d, startedAt, true, r, failureReason(r), classify(r, d, this.config.retrySchedule, this.now()));
  }

  /**
   * Graceful stop: claim nothing more, let what is in flight finish (up to `graceMs`), record it,
   * and hand back whatever is still held so another worker can take it at once. A second call
   * waits for the first.
   */
  stop(graceMs = this.config.deliveryTimeoutMs + 1000): Promise<void> {
    this.stopped ??= this.shutDown(graceMs);
    return this.stopped;
  }

  private async shutDown(graceMs: number): Promise<void> {
    await this.loop.stop();
    // Held deliveries will not be sent now: their leases are released below with the rest.
    const held = this.dropHeld();
    await this.waitIdle(graceMs);
    await this.recorder.flush();
    // Still held by this worker: room reserved but not handed over, requests still running, and
    // what was held for a slot (or handed over and held since the stop began).
    const tokens = new Set(this.reservations.keys());
    for (const d of this.running) tokens.add(d.leaseToken);
    for (const d of [...held, ...this.dropHeld()]) tokens.add(d.leaseToken);
    const released = await releaseLeases(this.db, [...tokens], this.now()).catch((err) => {
      this.log.warn({ err }, 'releasing the leases this worker still holds failed; those deliveries come due when their leases end');
      return 0;
    });
    if (released) this.log.info({ released }, 'released deliveries still in flight');
    // Anything still running past the grace period is cut off; its late result cannot change the
    // delivery any more (the lease token is gone), but its attempt is still logged.
    await Promise.all([this.agent.destroy(), this.guardedAgent.destroy()]).catch((err) =>
      this.log.warn({ err }, 'closing the HTTP connection pools failed'),
    );
    await this.waitIdle(1000);
    await this.recorder.flush();
  }

  /** Empties the endpoint queues: what they held gives its tenant slots back. */
  private dropHeld(): ClaimedDelivery[] {
    const held = this.queue.drain();
    for (const d of held) this.shares.free(d.tenantId);
    return held;
  }

  /** Until nothing is in flight, or `ms` have passed. */
  private async waitIdle(ms: number): Promise<void> {
    if (this.inFlight === 0) return;
    await Promise.race([new Promise<void>((r) => (this.idle = r)), new Promise((r) => setTimeout(r, ms).unref())]);
  }
}
