import type { Db } from '../db/db.js';
import { upsertEventType } from '../event-types/eventTypes.js';
import type { EventWriter } from '../events/eventWriter.js';
import { newId, randomToken } from '../ids.js';
import type { Logger } from '../log.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { newSecret } from '../endpoints/endpoints.js';
import type { AddressPolicy } from '../endpoints/urlPolicy.js';

// Operational events reach the operator through Herald itself: each environment has a system
// tenant (uid "_operator") whose configured endpoint is HERALD_OPERATOR_WEBHOOK_URL. They are
// signed, retried and logged like any webhook, and readable with the API under that tenant.
//
// Its connections go through the address guard like every other. It may reach a private address
// only when the configuration says so: its host is itself a private address or localhost (an
// operator who writes http://127.0.0.1:9000/ means this machine, and no DNS can rebind that), or
// HERALD_OPERATOR_WEBHOOK_PRIVATE=1 (an internal name such as alerts.internal). A public-looking
// name that resolves to 127.0.0.1 is refused at connect time, as for any tenant.

export const OPERATOR_UID = '_operator';

export const OPERATOR_EVENT_TYPES = [
  { name: 'endpoint.disabled', description: 'An endpoint was disabled: it answered 410 Gone, or failed without a success for longer than HERALD_DISABLE_AFTER.' },
  { name: 'endpoint.recovered', description: 'An endpoint that was failing answered with success again.' },
  { name: 'delivery.failing', description: "An endpoint's deliveries failed HERALD_CIRCUIT_THRESHOLD times in a row: its circuit opened, deliveries wait while probes test it." },
  { name: 'delivery.exhausted', description: 'A delivery used up its retry schedule and failed for good. It can be resent, or recovered in bulk.' },
];

export class OperatorEvents {
  private readonly tenants = new Map<string, string>(); // environment id → operator tenant id
  private writer: EventWriter | null = null;

  constructor(
    private readonly db: Db,
    private readonly box: SecretBox,
    private readonly url: string | undefined,
    private readonly log: Logger,
    private readonly privateAllowed: (url: string) => boolean = () => false,
  ) {}

  /** The answer of `privateAllowed` for the configuration: see the comment at the top. */
  static privateAllowedBy(addresses: AddressPolicy, operatorWebhookPrivate: boolean): (url: string) => boolean {
    return (url) => operatorWebhookPrivate || addresses.isLiteralPrivate(new URL(url).hostname);
  }

  /**
   * Creates the operator tenant of each environment, and keeps its configured endpoint (the row
   * marked operator_config) in step with HERALD_OPERATOR_WEBHOOK_URL: created when missing, its URL
   * and address rights updated when the configuration changed, disabled when the variable is unset.
   * An unchanged configuration leaves it as it is. Endpoints the operator added under this tenant
   * with the API are never touched.
   */
  async setup(writer: EventWriter): Promise<void> {
    this.writer = writer;
    const environments = await this.db.all<{ id: string }>('SELECT id FROM environments');
    for (const { id: env } of environments) {
      await this.db.tx(async (q) => {
        for (const t of OPERATOR_EVENT_TYPES) await upsertEventType(q, env, t, { replace: true });
        const now = Date.now();
        await q.run(
          `INSERT INTO tenants (id, environment_id, uid, name, token, metadata, system, created_at, updated_at)
           VALUES ($1, $2, $3, 'Operator (operational events)', $4, '{}', 1, $5, $5) ON CONFLICT (environment_id, uid) DO NOTHING`,
          [newId('ten', now), env, OPERATOR_UID, this.box.seal('whtok_' + randomToken(24)), now],
        );
        const tenant = (await q.one<{ id: string }>('SELECT id FROM tenants WHERE environment_id = $1 AND uid = $2', [env, OPERATOR_UID]))!;
        this.tenants.set(env, tenant.id);
        const ep = await q.one<{ id: string; url: string; enabled: number; private_allowed: number }>(
          'SELECT id, url, enabled, private_allowed FROM endpoints WHERE tenant_id = $1 AND operator_config = 1 AND deleted_at IS NULL ORDER BY id LIMIT 1',
          [tenant.id],
        );
        if (!this.url) {
          // Nothing is sent any more; the URL stays, so setting the variable again restores it.
          if (ep?.enabled) await q.run('UPDATE endpoints SET enabled = 0, updated_at = $2 WHERE id = $1', [ep.id, now]);
          return;
        }
        const privateAllowed = this.privateAllowed(this.url) ? 1 : 0;
        if (!ep) {
          // Nodes starting together already take turns here (on the event type rows upserted above);
          // the unique index keeps the one-per-tenant rule whatever the order.
          await q.run(
            `INSERT INTO endpoints (id, tenant_id, url, description, secret, private_allowed, operator_config, created_at, updated_at)
             VALUES ($1, $2, $3, 'HERALD_OPERATOR_WEBHOOK_URL', $4, $5, 1, $6, $6) ON CONFLICT DO NOTHING`,
            [newId('ep', now), tenant.id, this.url, this.box.seal(newSecret()), privateAllowed, now],
          );
        } else if (ep.url !== this.url || ep.private_allowed !== privateAllowed || !ep.enabled) {
          // The configuration changed (or the endpoint was disabled): it applies afresh, with a
          // clean health record, like enabling an endpoint through the API.
          await q.run(
            `UPDATE endpoints SET url = $2, private_allowed = $3, enabled = 1, updated_at = $4,
                    consecutive_failures = 0, failing_since = NULL, circuit_open_until = NULL, disabled_reason = NULL
              WHERE id = $1`,
            [ep.id, this.url, privateAllowed, now],
          );
        }
      });
    }
  }

  emit(environmentId: string, type: string, payload: Record<string, unknown>): void {
    const tenantId = this.tenants.get(environmentId);
    if (!this.url || !tenantId || !this.writer) return;
    this.writer
      .write(tenantId, [{ type, payload: JSON.stringify({ environment: environmentId, ...payload }) }])
      .catch((err) => this.log.error({ err, type }, 'could not record an operational event'));
  }
}
