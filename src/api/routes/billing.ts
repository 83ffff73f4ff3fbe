import { Type } from '@sinclair/typebox';
import { createPlan, deletePlan, getPlan, listPlans, updatePlan } from '../../billing/plans.js';
import { listRecords, type RecordKind } from '../../billing/records.js';
import { getCustomer } from '../../customers/customers.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, NoContent, listQuery, ListQuery, Nullable, page, TenantParams, Timestamp } from '../schemas.js';

const Currency = Type.String({ pattern: '^[A-Za-z]{3}$', description: 'ISO 4217 code' });
const Amount = Type.Integer({ description: 'minor units (cents)' });

const Plan = Type.Object({
  id: Type.String(),
  key: Type.String(),
  name: Type.String(),
  amount: Nullable(Amount),
  currency: Nullable(Type.String()),
  period: Nullable(Type.String()),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
const PlanFields = {
  key: Type.String({
    minLength: 1,
    maxLength: 200,
    description: "the billing provider's product id (Chargify product id, Stripe product id)",
  }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  amount: Type.Optional(Nullable(Type.Integer({ minimum: 0, description: 'minor units' }))),
  currency: Type.Optional(Nullable(Currency)),
  period: Type.Optional(Nullable(Type.String({ maxLength: 50, description: 'month, year, …' }))),
};

const Ref = Type.Object({ id: Type.String(), key: Type.String(), name: Type.String() });
const Common = {
  id: Type.String(),
  customerId: Type.String(),
  customerKey: Type.String(),
  provider: Type.String(),
  providerId: Type.String(),
  createdAt: Timestamp,
};
const RECORDS = {
  subscriptions: Type.Object({
    ...Common,
    productId: Nullable(Type.String()),
    productName: Nullable(Type.String()),
    plan: Nullable(Ref),
    state: Type.String(),
    amount: Nullable(Amount),
    currency: Nullable(Type.String()),
    components: Type.Record(Type.String(), Type.Integer()),
    updatedAt: Timestamp,
  }),
  transactions: Type.Object({
    ...Common,
    subscriptionId: Nullable(Type.String()),
    amount: Amount,
    currency: Type.String(),
    memo: Nullable(Type.String()),
    occurredAt: Timestamp,
  }),
  refunds: Type.Object({
    ...Common,
    transactionId: Nullable(Type.String()),
    paymentId: Nullable(Type.String()),
    amount: Amount,
    currency: Type.String(),
    memo: Nullable(Type.String()),
    occurredAt: Timestamp,
  }),
};

const PlanParams = Type.Object({
  tenant: TenantParams.properties.tenant,
  plan: Type.String({ minLength: 1, maxLength: 200, description: 'the plan id or key' }),
});
const CustomerParams = Type.Object({
  tenant: TenantParams.properties.tenant,
  customer: Type.String({ minLength: 1, maxLength: 200, description: 'the customer id or key' }),
});

export default async function billingRoutes(app: Api, { db }: ApiDeps) {
  const tags = ['billing'];

  app.post(
    '/v1/tenants/:tenant/plans',
    {
      schema: {
        tags,
        summary: 'Create a plan; its key is the provider’s product id',
        description:
          'A plan names a provider product (Chargify product id, Stripe price or product id). Subscriptions on that product link to it whether they were recorded before or after the plan. Operator or tenant key.',
        params: TenantParams,
        body: Type.Object(PlanFields, { additionalProperties: false }),
        response: { 201: Plan, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      return reply.status(201).send(await createPlan(db, req.tenant.id, req.body));
    },
  );

  app.get(
    '/v1/tenants/:tenant/plans',
    {
      schema: {
        tags,
        summary: 'List plans',
        description: 'The tenant’s plans, oldest first, a page at a time (`nextCursor`).',
        params: TenantParams,
        querystring: ListQuery,
        response: { 200: page(Plan), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      return listPlans(db, req.tenant.id, q.limit, q.cursor);
    },
  );

  app.get(
    '/v1/tenants/:tenant/plans/:plan',
    {
      schema: {
        tags,
        summary: 'Get a plan by id or key',
        description: 'The plan, by Herald’s id or by its key (the provider’s product id).',
        params: PlanParams,
        response: { 200: Plan, ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return getPlan(db, req.tenant.id, req.params.plan);
    },
  );

  app.patch(
    '/v1/tenants/:tenant/plans/:plan',
    {
      schema: {
        tags,
        summary: 'Change a plan',
        description:
          'Changes only the fields sent. Subscriptions show the plan whose key is their product id, so a new key moves the plan to that product’s subscriptions.',
        params: PlanParams,
        body: Type.Partial(Type.Object(PlanFields), { additionalProperties: false }),
        response: { 200: Plan, ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      return updatePlan(db, req.tenant.id, await getPlan(db, req.tenant.id, req.params.plan), req.body);
    },
  );

  app.delete(
    '/v1/tenants/:tenant/plans/:plan',
    {
      schema: {
        tags,
        summary: 'Delete a plan (subscriptions on its product then show no plan)',
        description: 'Subscriptions and their history stay; they simply show no plan until one with the same key is created again.',
        params: PlanParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await deletePlan(db, req.tenant.id, (await getPlan(db, req.tenant.id, req.params.plan)).id);
      return reply.status(204).send();
    },
  );

  for (const kind of Object.keys(RECORDS) as RecordKind[]) {
    app.get(
      `/v1/tenants/:tenant/${kind}`,
      {
        schema: {
          tags,
          summary: `List ${kind} (newest first)`,
          description: `Billing records made from received webhooks (Chargify, Stripe), newest first; \`customer\` narrows to one customer.`,
          params: TenantParams,
          querystring: listQuery({
            customer: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'only this customer’s (id or key)' })),
          }),
          response: { 200: page(RECORDS[kind]), ...errors(400, 401, 403, 404) },
        },
      },
      async (req) => {
        const q = req.query;
        const customerId = q.customer ? (await getCustomer(db, req.tenant.id, q.customer)).id : undefined;
        return listRecords(db, kind, req.tenant.id, { limit: q.limit, cursor: q.cursor, customerId });
      },
    );

    app.get(
      `/v1/tenants/:tenant/customers/:customer/${kind}`,
      {
        schema: {
          tags,
          summary: `List one customer's ${kind}`,
          description: `The ${kind} recorded under this customer (by id or key), newest first.`,
          params: CustomerParams,
          querystring: ListQuery,
          response: { 200: page(RECORDS[kind]), ...errors(400, 401, 403, 404) },
        },
      },
      async (req) => {
        const q = req.query;
        const customer = await getCustomer(db, req.tenant.id, req.params.customer);
        return listRecords(db, kind, req.tenant.id, { limit: q.limit, cursor: q.cursor, customerId: customer.id });
      },
    );
  }
}
