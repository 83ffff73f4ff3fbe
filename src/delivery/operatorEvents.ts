import type { Db } from '../db/db.js';
import { upsertEventType } from '../event-types/eventTypes.js';
import type { EventWriter } from '../events/eventWriter.js';
import { newId, randomToken } from '../ids.js';
import type { Logger } from '../log.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { newSecret } from '../endpoints/endpoints.js';

// Operational events reach the operator through Herald itself: each environment has a system
// tenant (uid "_operator") whose one endpoint is HERALD_OPERATOR_WEBHOOK_URL. They are signed,
// retried and logged like any webhook, and readable with the API under that tenant. The URL is
// configuration, so it is trusted like configuration (it may point at a private address).

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
  ) {}

  /** Creates (or points at the configured URL) the operator tenant and endpoint of each environment. */
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
        const ep = await q.one<{ id: string }>('SELECT id FROM endpoints WHERE tenant_id = $1 AND deleted_at IS NULL ORDER BY id LIMIT 1', [tenant.id]);
        if (ep) {
          await q.run('UPDATE endpoints SET url = $2, enabled = $3, updated_at = $4 WHERE id = $1', [ep.id, this.url ?? 'http://operator.invalid/', this.url ? 1 : 0, now]);
        } else if (this.url) {
          await q.run(
            `INSERT INTO endpoints (id, tenant_id, url, description, secret, created_at, updated_at)
             VALUES ($1, $2, $3, 'HERALD_OPERATOR_WEBHOOK_URL', $4, $5, $5)`,
            [newId('ep', now), tenant.id, this.url, this.box.seal(newSecret()), now],
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
