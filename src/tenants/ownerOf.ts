import type { Queryable } from '../db/db.js';

// The tenant of an object named by its id alone (GraphQL's saveAddress(customerId), updateEndpoint(id),
// resendDelivery(id), recovery(id)). Only its own environment is searched, so an id of the other environment is
// not found; the caller then checks the tenant against who is asking (auth/actor.ts resolveOwner).
const TABLES = { customer: 'customers', endpoint: 'endpoints', delivery: 'deliveries', recovery: 'recoveries' } as const;

export type OwnedKind = keyof typeof TABLES;

export async function tenantOf(q: Queryable, environmentId: string, kind: OwnedKind, id: string): Promise<string | undefined> {
  const row = await q.one<{ tenant_id: string }>(
    `SELECT o.tenant_id FROM ${TABLES[kind]} o JOIN tenants t ON t.id = o.tenant_id WHERE o.id = $1 AND t.environment_id = $2`,
    [id, environmentId],
  );
  return row?.tenant_id;
}
