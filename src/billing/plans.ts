import type { Queryable } from '../db/db.js';
import { isUniqueViolation } from '../db/db.js';
import { HeraldError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { type Page, pageOf } from '../pagination.js';

// A plan's key is the billing provider's product id (PartnerStack's Chargify listener: "the plan key on PartnerStack
// matches the product id on Chargify"): subscriptions on that product show it as their plan,
// whether the plan was created before or after them.
export interface Plan {
  id: string;
  key: string;
  name: string;
  /** Price in minor units, or null. */
  amount: number | null;
  currency: string | null;
  /** month, year, … as the tenant names it. */
  period: string | null;
  createdAt: string;
  updatedAt: string;
}

export type PlanInput = Pick<Plan, 'key' | 'name'> & Partial<Pick<Plan, 'amount' | 'currency' | 'period'>>;

interface PlanRow {
  id: string;
  key: string;
  name: string;
  amount: number | string | null;
  currency: string | null;
  period: string | null;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, key, name, amount, currency, period, created_at, updated_at';

const toPlan = (r: PlanRow): Plan => ({
  id: r.id,
  key: r.key,
  name: r.name,
  amount: r.amount === null ? null : Number(r.amount),
  currency: r.currency,
  period: r.period,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

const conflict = (key: string) => new HeraldError('conflict', `a plan with key "${key}" already exists in this tenant`);

export async function createPlan(q: Queryable, tenantId: string, input: PlanInput): Promise<Plan> {
  const now = Date.now();
  try {
    const row = await q.one<PlanRow>(
      `INSERT INTO plans (id, tenant_id, key, name, amount, currency, period, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING ${COLUMNS}`,
      [
        newId('plan'),
        tenantId,
        input.key,
        input.name,
        input.amount ?? null,
        input.currency?.toUpperCase() ?? null,
        input.period ?? null,
        now,
      ],
    );
    return toPlan(row!);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(input.key);
    throw err;
  }
}

export async function getPlan(q: Queryable, tenantId: string, idOrKey: string): Promise<Plan> {
  const row = await q.one<PlanRow>(
    `SELECT ${COLUMNS} FROM plans WHERE tenant_id = $1 AND (id = $2 OR key = $2) ORDER BY CASE WHEN id = $2 THEN 0 ELSE 1 END LIMIT 1`,
    [tenantId, idOrKey],
  );
  if (!row) throw notFound('plan', idOrKey);
  return toPlan(row);
}

export async function listPlans(q: Queryable, tenantId: string, limit: number, cursor?: string): Promise<Page<Plan>> {
  const rows = await q.all<PlanRow>(
    `SELECT ${COLUMNS} FROM plans WHERE tenant_id = $1 AND (CAST($2 AS text) IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, cursor ?? null, limit + 1],
  );
  return pageOf(rows.map(toPlan), limit);
}

export async function updatePlan(q: Queryable, tenantId: string, current: Plan, patch: Partial<PlanInput>): Promise<Plan> {
  try {
    const row = await q.one<PlanRow>(
      `UPDATE plans SET key = $3, name = $4, amount = $5, currency = $6, period = $7, updated_at = $8
        WHERE id = $1 AND tenant_id = $2 RETURNING ${COLUMNS}`,
      [
        current.id,
        tenantId,
        patch.key ?? current.key,
        patch.name ?? current.name,
        patch.amount === undefined ? current.amount : patch.amount,
        patch.currency === undefined ? current.currency : (patch.currency?.toUpperCase() ?? null),
        patch.period === undefined ? current.period : patch.period,
        Date.now(),
      ],
    );
    if (!row) throw notFound('plan', current.id);
    return toPlan(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw conflict(patch.key!);
    throw err;
  }
}

export async function deletePlan(q: Queryable, tenantId: string, id: string): Promise<void> {
  if ((await q.run('DELETE FROM plans WHERE id = $1 AND tenant_id = $2', [id, tenantId])) === 0) throw notFound('plan', id);
}
