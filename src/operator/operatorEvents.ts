import type { Db } from '../db/db.js';
import { upsertEventType } from '../event-types/eventTypes.js';
import type { EventWriter } from '../events/eventWriter.js';
import type { Logger } from '../log.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { ensureSystemTenant } from '../tenants/tenants.js';
import { syncConfiguredEndpoint } from '../endpoints/configuredEndpoint.js';
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
  {
    name: 'endpoint.disabled',
    description: 'An endpoint was disabled: it answered 410 Gone, or failed without a success for longer than HERALD_DISABLE_AFTER.',
  },
  { name: 'endpoint.recovered', description: 'An endpoint that was failing answered with success again.' },
  {
    name: 'delivery.failing',
    description:
      "An endpoint's deliveries failed HERALD_CIRCUIT_THRESHOLD times in a row: its circuit opened, deliveries wait while probes test it.",
  },
  {
    name: 'delivery.exhausted',
    description: 'A delivery used up its retry schedule and failed for good. It can be resent, or recovered in bulk.',
  },
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
        // The event type rows upserted first also make nodes starting together take turns.
        for (const t of OPERATOR_EVENT_TYPES) await upsertEventType(q, env, t, { replace: true });
        const tenantId = await ensureSystemTenant(q, this.box, env, OPERATOR_UID, 'Operator (operational events)');
        this.tenants.set(env, tenantId);
        await syncConfiguredEndpoint(q, this.box, tenantId, {
          url: this.url,
          privateAllowed: this.url ? this.privateAllowed(this.url) : false,
          description: 'HERALD_OPERATOR_WEBHOOK_URL',
        });
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
