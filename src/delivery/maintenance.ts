import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import { pruneLoginThrottle } from '../accounts/loginThrottle.js';
import { deleteExpiredSessions } from '../accounts/sessions.js';
import { deleteExpiredClientTokens } from '../keys/clientTokens.js';
import { stepRecovery } from '../deliveries/recoverDeliveries.js';
import { applyRetention } from '../deliveries/retention.js';
import type { Logger } from '../log.js';
import type { Clock } from './dispatcher.js';

type MaintenanceConfig = Pick<Config, 'maintenanceIntervalMs' | 'payloadRetentionDays' | 'attemptRetentionDays' | 'inboundRejectedRetentionMs'>;

/**
 * Background work of a worker node: bulk recoveries (a bounded batch per step), retention (a
 * bounded batch per table per minute) and the removal of expired sessions and login throttles.
 * Every node may run it; the recovery lease and the batch-sized statements keep nodes from
 * stepping on each other.
 */
export class Maintenance {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastRetention = 0;

  constructor(
    private readonly db: Db,
    private readonly config: MaintenanceConfig,
    private readonly log: Logger,
    /** The database's clock: the recovery lease is compared across nodes. */
    private readonly clock: Clock = { now: Date.now },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (!this.running) this.running = this.tick().finally(() => (this.running = null));
    }, this.config.maintenanceIntervalMs);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    try {
      // Up to 20 batches per tick: a large recovery moves along without starving the rest.
      for (let i = 0; i < 20 && (await stepRecovery(this.db, { batch: 500, leaseMs: 30_000, now: this.clock.now() })); i++);
      if (Date.now() - this.lastRetention >= 60_000) {
        this.lastRetention = Date.now();
        const r = await applyRetention(this.db, { payloadDays: this.config.payloadRetentionDays, attemptDays: this.config.attemptRetentionDays, rejectedMs: this.config.inboundRejectedRetentionMs, batch: 1000 });
        if (r.payloadsPurged || r.attemptsDeleted || r.inboundPurged || r.rejectedDeleted) this.log.info(r, 'retention applied');
        // Ended sessions and old throttle windows serve nothing once past; one bounded batch a minute.
        const sessionsDeleted = await deleteExpiredSessions(this.db, this.clock.now());
        const throttlesPruned = await pruneLoginThrottle(this.db, this.clock.now());
        // After the sessions: a token is kept while a session still names it.
        const clientTokensDeleted = await deleteExpiredClientTokens(this.db, this.clock.now());
        if (sessionsDeleted || throttlesPruned || clientTokensDeleted) this.log.info({ sessionsDeleted, throttlesPruned, clientTokensDeleted }, 'expired sessions, client tokens and login throttles removed');
      }
    } catch (err) {
      this.log.error({ err }, 'maintenance step failed; trying again at the next tick');
    }
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.running;
  }
}
