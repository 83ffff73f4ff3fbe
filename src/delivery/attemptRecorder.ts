import type { Db } from '../db/db.js';
import type { HealthPolicy } from '../endpoints/health.js';
import type { Logger } from '../log.js';
import type { Verdict } from './classify.js';
import type { SendResult } from './send.js';
import type { ClaimedDelivery } from './sql/claimDueDeliveries.js';
import { type AttemptOutcome, type RecordResult, recordAttempts } from './sql/recordAttempts.js';

/**
 * The outcome of one attempt at `d`, as it is recorded: `answer` is what the endpoint said (null
 * when no request was sent), `error` what the delivery log shows, `next` the verdict.
 */
export function attemptOutcome(
  d: Pick<
    ClaimedDelivery,
    'id' | 'eventId' | 'endpointId' | 'tenantId' | 'environment' | 'system' | 'leaseToken' | 'attempts' | 'type' | 'createdAt'
  >,
  startedAt: number,
  attempted: boolean,
  answer: Pick<SendResult, 'durationMs' | 'statusCode' | 'responseBody'> | null,
  error: string | null,
  next: Verdict,
): AttemptOutcome {
  return {
    deliveryId: d.id,
    eventId: d.eventId,
    endpointId: d.endpointId,
    owner: d.system ? null : { environment: d.environment, tenantId: d.tenantId },
    tenantId: d.tenantId,
    eventType: d.type,
    eventCreatedAt: d.createdAt,
    leaseToken: d.leaseToken,
    attempt: d.attempts + 1,
    startedAt,
    attempted,
    durationMs: answer ? answer.durationMs : 0,
    statusCode: answer ? answer.statusCode : null,
    error,
    responseBody: answer ? answer.responseBody : null,
    next,
  };
}

/**
 * Writes finished attempts in batches (`recordAttempts`): one flush at a time, and every outcome
 * that finishes while one is being written joins the next, so under load one commit records
 * everything finished since the last. A batch that cannot be written is logged and dropped: its
 * leases run out and those deliveries are sent again (at least once).
 */
export class AttemptRecorder {
  private pending: AttemptOutcome[] = [];
  /** Who waits for each pending outcome (same order): told when its own batch is written. */
  private waiting: (() => void)[] = [];
  private flushing: Promise<void> | null = null;
  /**
   * The most outcomes one transaction records. On SQLite a transaction never yields the event
   * loop: a burst's thousand outcomes in one held every request for tens of milliseconds.
   */
  private readonly maxBatch: number;

  constructor(
    private readonly db: Db,
    private readonly health: HealthPolicy,
    /** The database's clock (db/clock.ts). */
    private readonly now: () => number,
    private readonly log: Logger,
    /** What a written batch changed (endpoint transitions, exhausted deliveries), with the batch. */
    private readonly onRecorded: (result: RecordResult, batch: AttemptOutcome[]) => void,
  ) {
    this.maxBatch = db.dialect === 'sqlite' ? 200 : 1000;
  }

  /**
   * Queues an outcome; resolves once the batch that takes it is written (or given up), not when
   * the flush is over: under steady load a flush never is, and the worker keeps the delivery's
   * room until this resolves.
   */
  record(o: AttemptOutcome): Promise<void> {
    return new Promise<void>((resolve) => {
      this.pending.push(o);
      this.waiting.push(resolve);
      void this.flush();
    });
  }

  /** Writes everything queued; one flush at a time, which takes whatever is queued when it starts. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    this.flushing = (async () => {
      await new Promise((r) => setImmediate(r)); // let the outcomes of this I/O phase join the batch
      while (this.pending.length) {
        const batch = this.pending.length > this.maxBatch ? this.pending.splice(0, this.maxBatch) : this.pending;
        const waiting = batch === this.pending ? this.waiting : this.waiting.splice(0, batch.length);
        if (batch === this.pending) {
          this.pending = [];
          this.waiting = [];
        }
        try {
          const result = await recordAttempts(this.db, batch, this.health, this.now());
          for (const { outcome, error } of result.unrecorded) {
            this.log.error(
              { err: error, deliveryId: outcome.deliveryId },
              'recording an attempt failed; that delivery will be retried when its lease expires',
            );
          }
          this.onRecorded(result, batch);
        } catch (err) {
          // Not recorded: the lease will run out and the delivery will be tried again
          // (at-least-once). Keep going with the next batch.
          this.log.error(
            { err, count: batch.length },
            'recording attempts failed; those deliveries will be retried when their lease expires',
          );
        }
        for (const resolve of waiting) resolve();
      }
      this.flushing = null;
    })();
    return this.flushing;
  }
}
