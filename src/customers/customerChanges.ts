import { releaseWaiting } from '../inbound/sql/settleInbound.js';
import type { Db, Queryable } from '../db/db.js';
import { insertEvents } from '../events/eventWriter.js';
import type { Clock } from '../delivery/dispatcher.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { createCustomer, type Customer, type CustomerInput, updateCustomer } from './customers.js';

// Creating or changing a customer is more than a row: billing webhooks held as unmatched for its
// key get their turn, and the change is announced as an event, all in the same commit. REST and
// GraphQL both change customers through here, so neither can forget a step.

/**
 * Billing messages held for this key get their turn; the change is announced in the same commit,
 * its deliveries due now by the database's clock (a node running ahead would make them wait for
 * the worker's next poll).
 */
async function announce(
  q: Queryable,
  box: SecretBox,
  clock: Clock,
  c: Customer,
  type: 'customer.created' | 'customer.updated',
): Promise<number> {
  const released = await releaseWaiting(q, c.tenantId, `customer:${c.key}`);
  await insertEvents(q, box, c.tenantId, [{ type, payload: JSON.stringify({ customer: c }) }], clock.now());
  return released;
}

export interface CustomerChange {
  customer: Customer;
  /** Held inbound messages made due again: wake the inbound processor when > 0. */
  released: number;
}

export async function createCustomerAnnounced(
  db: Db,
  box: SecretBox,
  clock: Clock,
  tenantId: string,
  input: CustomerInput,
): Promise<CustomerChange> {
  return db.tx(async (q) => {
    const customer = await createCustomer(q, tenantId, input);
    return { customer, released: await announce(q, box, clock, customer, 'customer.created') };
  });
}

export async function updateCustomerAnnounced(
  db: Db,
  box: SecretBox,
  clock: Clock,
  current: Customer,
  patch: Partial<CustomerInput>,
): Promise<CustomerChange> {
  return db.tx(async (q) => {
    const customer = await updateCustomer(q, current, patch);
    return { customer, released: await announce(q, box, clock, customer, 'customer.updated') };
  });
}
