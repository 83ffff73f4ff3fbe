import type { Queryable } from '../db/db.js';
import { isUniqueViolation } from '../db/db.js';
import { badRequest, HeraldError, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { type Page, pageOf } from '../pagination.js';

export type CustomerKind = 'person' | 'organization';

/**
 * An address as Productfy's getting-started guide asks for it: either a place id (Google Places) or the full standard
 * address. unitNumber and unitType go together; usTerritory (the state or territory code) is
 * required for addresses in the US.
 */
export interface Address {
  placeId?: string;
  streetNumber?: string;
  streetName?: string;
  streetSuffix?: string;
  unitNumber?: string;
  unitType?: string;
  city?: string;
  postalCode?: string;
  countryCode?: string;
  usTerritory?: string;
}

export interface Customer {
  id: string;
  tenantId: string;
  key: string;
  kind: CustomerKind;
  name: string;
  email: string | null;
  profile: Record<string, unknown>;
  address: Address | null;
  customData: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
}

export interface CustomerInput {
  key: string;
  kind: CustomerKind;
  name?: string;
  email?: string | null;
  profile?: Record<string, unknown>;
  address?: Address | null;
  customData?: Record<string, unknown>;
}

interface CustomerRow {
  id: string;
  tenant_id: string;
  key: string;
  kind: CustomerKind;
  name: string;
  email: string | null;
  profile: string;
  address: string | null;
  custom_data: string;
  created_at: number;
  updated_at: number;
}

const COLUMNS = 'id, tenant_id, key, kind, name, email, profile, address, custom_data, created_at, updated_at';

const toCustomer = (r: CustomerRow): Customer => ({
  id: r.id,
  tenantId: r.tenant_id,
  key: r.key,
  kind: r.kind,
  name: r.name,
  email: r.email,
  profile: JSON.parse(r.profile) as Customer['profile'],
  address: r.address === null ? null : (JSON.parse(r.address) as Customer['address']),
  customData: JSON.parse(r.custom_data) as Customer['customData'],
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

const REQUIRED_ADDRESS: (keyof Address)[] = ['streetNumber', 'streetName', 'streetSuffix', 'city', 'postalCode', 'countryCode'];

/** Either a place id alone or the full address; says exactly what is missing. */
export function checkAddress(a: Address): Address {
  const fields = Object.keys(a).filter((k) => a[k as keyof Address] !== undefined) as (keyof Address)[];
  if (a.placeId !== undefined) {
    if (fields.length > 1) throw badRequest('address: give either placeId alone or the full address, not both');
    return { placeId: a.placeId };
  }
  const missing = REQUIRED_ADDRESS.filter((f) => !a[f]);
  if (a.countryCode === 'US' && !a.usTerritory) missing.push('usTerritory');
  if (missing.length) {
    throw badRequest(`address: without a placeId the full address is needed; missing ${missing.join(', ')}`, {
      missing: missing.map((m) => `address.${m}`),
    });
  }
  if ((a.unitNumber === undefined) !== (a.unitType === undefined))
    throw badRequest('address: unitNumber and unitType go together; give both or neither');
  return a;
}

/** Custom data changes merge: a field set to null is removed. */
function mergeCustomData(current: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...current };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}

const MAX_CUSTOM_FIELDS = 100;

export async function createCustomer(q: Queryable, tenantId: string, input: CustomerInput): Promise<Customer> {
  const address = input.address ? checkAddress(input.address) : null;
  const customData = mergeCustomData({}, input.customData ?? {});
  if (Object.keys(customData).length > MAX_CUSTOM_FIELDS) throw badRequest(`customData: at most ${MAX_CUSTOM_FIELDS} fields`);
  const now = Date.now();
  try {
    const row = await q.one<CustomerRow>(
      `INSERT INTO customers (id, tenant_id, key, kind, name, email, profile, address, custom_data, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING ${COLUMNS}`,
      [
        newId('cus'),
        tenantId,
        input.key,
        input.kind,
        input.name ?? '',
        input.email ?? null,
        JSON.stringify(input.profile ?? {}),
        address && JSON.stringify(address),
        JSON.stringify(customData),
        now,
      ],
    );
    return toCustomer(row!);
  } catch (err) {
    if (isUniqueViolation(err))
      throw new HeraldError('conflict', `a customer with key "${input.key}" already exists in this tenant; update it with PATCH instead`);
    throw err;
  }
}

/** A customer named by its id or its key (an id wins). */
export async function findCustomer(q: Queryable, tenantId: string, idOrKey: string): Promise<Customer | undefined> {
  const row = await q.one<CustomerRow>(
    `SELECT ${COLUMNS} FROM customers WHERE tenant_id = $1 AND (id = $2 OR key = $2) ORDER BY CASE WHEN id = $2 THEN 0 ELSE 1 END LIMIT 1`,
    [tenantId, idOrKey],
  );
  return row && toCustomer(row);
}

export async function getCustomer(q: Queryable, tenantId: string, idOrKey: string): Promise<Customer> {
  const c = await findCustomer(q, tenantId, idOrKey);
  if (!c) throw notFound('customer', idOrKey);
  return c;
}

/** `search` matches the key, name or email, ignoring case. */
export async function listCustomers(
  q: Queryable,
  tenantId: string,
  opts: { limit: number; cursor?: string; search?: string; kind?: CustomerKind },
): Promise<Page<Customer>> {
  const like = opts.search ? `%${opts.search.toLowerCase().replace(/[\\%_]/g, (c) => '\\' + c)}%` : null;
  const rows = await q.all<CustomerRow>(
    `SELECT ${COLUMNS} FROM customers
      WHERE tenant_id = $1
        AND (CAST($2 AS text) IS NULL OR id < $2)
        AND (CAST($3 AS text) IS NULL OR lower(key) LIKE $3 ESCAPE '\\' OR lower(name) LIKE $3 ESCAPE '\\' OR lower(email) LIKE $3 ESCAPE '\\')
        AND (CAST($4 AS text) IS NULL OR kind = $4)
      ORDER BY id DESC LIMIT $5`,
    [tenantId, opts.cursor ?? null, like, opts.kind ?? null, opts.limit + 1],
  );
  return pageOf(rows.map(toCustomer), opts.limit);
}

export async function updateCustomer(q: Queryable, current: Customer, patch: Partial<CustomerInput>): Promise<Customer> {
  const address = patch.address === undefined ? current.address : patch.address && checkAddress(patch.address);
  const customData = patch.customData ? mergeCustomData(current.customData, patch.customData) : current.customData;
  if (Object.keys(customData).length > MAX_CUSTOM_FIELDS) throw badRequest(`customData: at most ${MAX_CUSTOM_FIELDS} fields`);
  try {
    const row = await q.one<CustomerRow>(
      `UPDATE customers SET key = $2, kind = $3, name = $4, email = $5, profile = $6, address = $7, custom_data = $8, updated_at = $9
        WHERE id = $1 RETURNING ${COLUMNS}`,
      [
        current.id,
        patch.key ?? current.key,
        patch.kind ?? current.kind,
        patch.name ?? current.name,
        patch.email === undefined ? current.email : patch.email,
        JSON.stringify(patch.profile ?? current.profile),
        address ? JSON.stringify(address) : null,
        JSON.stringify(customData),
        Date.now(),
      ],
    );
    if (!row) throw notFound('customer', current.id);
    return toCustomer(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw new HeraldError('conflict', `key "${patch.key}" belongs to another customer of this tenant`);
    throw err;
  }
}

export async function deleteCustomer(q: Queryable, tenantId: string, id: string): Promise<void> {
  // Its subscriptions, transactions and refunds go with it (foreign keys cascade).
  const n = await q.run('DELETE FROM customers WHERE id = $1 AND tenant_id = $2', [id, tenantId]);
  if (n === 0) throw notFound('customer', id);
}
