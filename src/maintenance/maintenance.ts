import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { pruneEnrolmentTickets } from '../accounts/enrolment.js';
import { pruneLoginThrottle } from '../accounts/loginThrottle.js';
import { deleteExpiredSessions } from '../accounts/sessions.js';
import { deleteExpiredClientTokens } from '../keys/clientTokens.js';
import { stepRecovery } from '../delivery/sql/recoverDeliveries.js';
import { expireListeners } from '../endpoints/listeners.js';
import { PollLoop } from '../runtime/pollLoop.js';
import { applyRetention } from './retention.js';
import type { Logger } from '../log.js';
import type { Clock } from '../delivery/dispatcher.js';

type MaintenanceConfig = Pick<
  Config,
  'maintenanceIntervalMs' | 'payloadRetentionDays' | 'attemptRetentionDays' | 'inboundRejectedRetentionMs'
>;

/**
 * Background work of a worker node: bulk recoveries (a bounded batch per step), retention (a
 * bounded batch per table per minute) and the removal of expired sessions and login throttles.
 * Every node may run it; the recovery lease and the batch-sized statements keep nodes from
 * stepping on each other. One round per interval, however much there is to do: it never hurries.
 */
export class Maintenance {
  private readonly loop: PollLoop;
  private lastRetention = 0;

  constructor(
    private readonly db: Db,
    private readonly config: MaintenanceConfig,
    private readonly log: Logger,
    /** The database's clock: the recovery lease is compared across nodes, and retention's cut-offs follow it. */
    private readonly clock: Clock = { now: Date.now },
  ) {
    this.loop = new PollLoop(() => this.step(), {
      what: 'a maintenance round',
      intervalMs: config.maintenanceIntervalMs,
      log,
      drain: false,
    });
  }

  start(): void {
    this.loop.start();
  }

  /** A recovery was started (on any node): run a round now instead of at the next interval. */
  wake(): void {
    this.loop.wake();
  }

  /** Waits for the round in progress. */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  /**
   * One round: up to 20 recovery batches and the listen endpoints that expired, and once a minute
   * retention and the removal of what else expired. Answers whether it changed anything.
   */
  async step(): Promise<boolean> {
    let worked = false;
    // Up to 20 batches per round: a large recovery moves along without starving the rest.
    for (let i = 0; i < 20 && (await stepRecovery(this.db, { batch: 500, leaseMs: 30_000, now: this.clock.now() })); i++) worked = true;
    // Every round, not once a minute: an abandoned `herald listen` endpoint goes at its expiry
    // (one look at the partial index endpoints_expiring when there is none).
    const listenersExpired = await expireListeners(this.db, this.clock.now());
    if (listenersExpired) {
      this.log.info({ listenersExpired }, 'expired listen endpoints deleted');
      worked = true;
    }
    if (Date.now() - this.lastRetention >= 60_000) {
      this.lastRetention = Date.now();
      const r = await applyRetention(this.db, {
        payloadDays: this.config.payloadRetentionDays,
        attemptDays: this.config.attemptRetentionDays,
        rejectedMs: this.config.inboundRejectedRetentionMs,
        batch: 1000,
        now: this.clock.now(),
      });
      if (r.payloadsPurged || r.attemptsDeleted || r.inboundPurged || r.rejectedDeleted) {
        this.log.info(r, 'retention applied');
        worked = true;
      }
      // Ended sessions and old throttle windows serve nothing once past; one bounded batch a minute.
      const sessionsDeleted = await deleteExpiredSessions(this.db, this.clock.now());
      const throttlesPruned = await pruneLoginThrottle(this.db, this.clock.now());
      const ticketsPruned = await pruneEnrolmentTickets(this.db, this.clock.now());
      // After the sessions: a token is kept while a session still names it.
      const clientTokensDeleted = await deleteExpiredClientTokens(this.db, this.clock.now());
      if (sessionsDeleted || throttlesPruned || clientTokensDeleted || ticketsPruned) {
        this.log.info(
          { sessionsDeleted, throttlesPruned, clientTokensDeleted, ticketsPruned },
          'expired sessions, client tokens, enrolment tickets and login throttles removed',
        );
        worked = true;
      }
    }
    return worked;
  }
}
