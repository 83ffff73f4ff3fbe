import type { Config } from '../config.js';
import { DbClock } from '../db/clock.js';
import type { Db } from '../db/db.js';
import { migrate } from '../db/migrate.js';
import { openDb } from '../db/open.js';
import {
  type ListenerAnswer,
  type ListenerDeps,
  ListenerFeed,
  type ListenMessage,
  recordListenerAnswer,
  type RecordedAnswer,
  runListener,
} from '../delivery/listenerFeed.js';
import { followAttempts } from '../delivery/liveAttempts.js';
import type { LiveAttempt } from '../delivery/sql/readAttempts.js';
import { getRecovery, type Recovery, startRecovery, stepRecovery } from '../delivery/sql/recoverDeliveries.js';
import type { Endpoint, EndpointContext } from '../endpoints/endpoints.js';
import { getEndpoint } from '../endpoints/endpoints.js';
import { createListener, deleteListener } from '../endpoints/listeners.js';
import { AddressPolicy } from '../endpoints/urlPolicy.js';
import { checkPayload, findEventType } from '../event-types/eventTypes.js';
import { EventWriter } from '../events/eventWriter.js';
import type { EnvironmentName } from '../keys/keys.js';
import { openSecretBox } from '../secrets/openSecretBox.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { CliError } from './errors.js';
import type { FollowEnd, ListenEnd, NewListener, Target, TriggeredEvent } from './target.js';

interface TenantRef {
  id: string;
  environment: EnvironmentName;
}

/**
 * The commands on the database the settings name (DATABASE_URL or HERALD_DATA_DIR), as `herald
 * keys` works: through the same modules the server runs, so a running server sees what they do at
 * its next poll. `herald listen` runs its listener's feed here, in the CLI's own process.
 */
export class LocalTarget implements Target {
  readonly where: string;
  private readonly tenants = new Map<string, TenantRef>();

  private constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly clock: DbClock,
    private readonly config: Config,
    private readonly env: EnvironmentName | undefined,
  ) {
    this.where = `the local database (${db.dialect} ${db.where})`;
  }

  static async open(config: Config, env: EnvironmentName | undefined): Promise<LocalTarget> {
    const db = openDb(config);
    const clock = new DbClock(db);
    try {
      await migrate(db);
      await clock.start({ maxSkewMs: config.maxClockSkewMs, report: () => undefined });
      return new LocalTarget(db, await openSecretBox(db, config), clock, config, env);
    } catch (err) {
      clock.stop();
      await db.close().catch(() => undefined);
      throw err;
    }
  }

  private get deps(): ListenerDeps {
    return { db: this.db, box: this.box, config: this.config, clock: this.clock };
  }

  /** The tenant an id or uid names; a uid in both environments needs --env. */
  private async tenant(idOrUid: string): Promise<TenantRef> {
    const known = this.tenants.get(idOrUid);
    if (known) return known;
    const rows = await this.db.all<{ id: string; environment_id: EnvironmentName }>(
      `SELECT id, environment_id FROM tenants WHERE (id = $1 OR uid = $1) AND (CAST($2 AS text) IS NULL OR environment_id = $2)
        ORDER BY CASE WHEN id = $1 THEN 0 ELSE 1 END`,
      [idOrUid, this.env ?? null],
    );
    const byId = rows.find((r) => r.id === idOrUid);
    if (!byId && rows.length > 1) {
      throw new CliError(`tenant "${idOrUid}" is a uid in both environments: add --env sandbox or --env production`);
    }
    const row = byId ?? rows[0];
    if (!row) {
      throw new CliError(
        `tenant "${idOrUid}" was not found in ${this.env ?? 'sandbox or production'} of ${this.where}; to reach a remote Herald set HERALD_URL and HERALD_KEY`,
      );
    }
    const ref = { id: row.id, environment: row.environment_id };
    this.tenants.set(idOrUid, ref);
    return ref;
  }

  eventLink(tenant: string, eventId: string): string {
    return `${this.config.publicUrl}/v1/tenants/${encodeURIComponent(tenant)}/events/${encodeURIComponent(eventId)}`;
  }

  async trigger(tenantName: string, type: string, payload?: string): Promise<TriggeredEvent> {
    const tenant = await this.tenant(tenantName);
    let text = payload;
    if (text === undefined) {
      const t = await findEventType(this.db, tenant.environment, type);
      if (!t) throw new CliError(`unknown event type "${type}" in ${tenant.environment}: create it or import a catalog first`);
      if (t.example === undefined || t.example === null) {
        throw new CliError(`event type "${type}" has no example payload: give one with --payload '{…}', or set the type's example`);
      }
      text = JSON.stringify(t.example);
    }
    await checkPayload(this.db, tenant.environment, type, JSON.parse(text));
    // No worker in this process: the deliveries are written due, and a running server's worker claims them.
    const [event] = await new EventWriter(this.db, this.box).write(tenant.id, [{ type, payload: text }]);
    return { id: event.id, type: event.type, status: event.status };
  }

  async follow(
    tenantName: string,
    since: number | undefined,
    onAttempt: (a: LiveAttempt) => void,
    signal: AbortSignal,
  ): Promise<FollowEnd> {
    const tenant = await this.tenant(tenantName);
    const opts = {
      since: since ?? this.clock.now(),
      deliveryTimeoutMs: this.config.deliveryTimeoutMs,
      pollMs: this.config.pollIntervalMs,
      clock: this.clock,
    };
    try {
      await followAttempts(
        this.db,
        tenant.id,
        opts,
        async (m) => {
          if (m.type === 'attempt') {
            const { type: _type, ...attempt } = m;
            onAttempt(attempt);
          }
        },
        signal,
      );
    } catch (err) {
      return { lost: (err as Error).message };
    }
    return 'stopped';
  }

  private async endpoint(tenantName: string, endpointId: string): Promise<Endpoint> {
    const tenant = await this.tenant(tenantName);
    return getEndpoint(this.db, tenant.id, endpointId);
  }

  async startRecovery(tenantName: string, endpointId: string, since: number, until?: number): Promise<Recovery> {
    const endpoint = await this.endpoint(tenantName, endpointId);
    const now = this.clock.now();
    return startRecovery(this.db, endpoint.tenantId, endpoint.id, since, until ?? now, now);
  }

  async recovery(tenantName: string, id: string): Promise<Recovery> {
    const tenant = await this.tenant(tenantName);
    // Works a batch itself, so a recovery moves on with no server running; with one running, its
    // maintenance and this take turns through the recovery's lease. (A step takes whichever
    // recovery is waiting longest: also work that was due.)
    await stepRecovery(this.db, { batch: 500, leaseMs: 30_000, now: this.clock.now() });
    return getRecovery(this.db, tenant.id, id);
  }

  async createListener(tenantName: string, input: NewListener): Promise<Endpoint & { secret: string }> {
    const tenant = await this.tenant(tenantName);
    const ctx: EndpointContext = {
      environmentId: tenant.environment,
      environment: tenant.environment,
      caller: 'operator',
      tokenHeader: this.config.tokenHeader,
      addresses: new AddressPolicy(this.config.allowPrivateCidrs, { sandboxTenantPrivate: this.config.sandboxTenantPrivate }),
      maxEndpoints: this.config.maxEndpointsPerTenant,
      box: this.box,
    };
    return createListener(this.db, ctx, tenant.id, input, this.clock.now() + this.config.listenExpiryMs);
  }

  async listen(
    _tenant: string,
    listenerId: string,
    onMessage: (m: ListenMessage) => Promise<void>,
    signal: AbortSignal,
  ): Promise<ListenEnd> {
    try {
      return await runListener(new ListenerFeed(this.deps, listenerId), this.deps, onMessage, signal);
    } catch (err) {
      if (signal.aborted) return 'stopped';
      return { lost: (err as Error).message };
    }
  }

  answer(_tenant: string, listenerId: string, a: ListenerAnswer): Promise<RecordedAnswer> {
    return recordListenerAnswer(this.deps, listenerId, a);
  }

  async deleteListener(tenantName: string, listenerId: string): Promise<void> {
    const tenant = await this.tenant(tenantName);
    await deleteListener(this.db, tenant.id, listenerId);
  }

  async close(): Promise<void> {
    this.clock.stop();
    await this.db.close();
  }
}
