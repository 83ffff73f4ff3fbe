import { Type } from '@sinclair/typebox';
import { createCustomerAnnounced, updateCustomerAnnounced } from '../../customers/customerChanges.js';
import { deleteCustomer, getCustomer, listCustomers } from '../../customers/customers.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, NoContent, JsonObject, listQuery, page, TenantParams, Timestamp } from '../schemas.js';

const Kind = Type.Union([Type.Literal('person'), Type.Literal('organization')]);
const Field = (description: string, maxLength = 200) => Type.Optional(Type.String({ minLength: 1, maxLength, description }));
const Address = Type.Object(
  {
    placeId: Field('a Google Places id; give it alone, or the full address instead', 500),
    streetNumber: Field('required without placeId', 50),
    streetName: Field('required without placeId'),
    streetSuffix: Field('required without placeId (St, Ave, …)', 50),
    unitNumber: Field('if applicable, with unitType', 50),
    unitType: Field('if applicable, with unitNumber (Apt, Suite, …)', 50),
    city: Field('required without placeId'),
    postalCode: Field('required without placeId', 20),
    countryCode: Type.Optional(Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2; required without placeId' })),
    usTerritory: Field('state or territory code; required when countryCode is US', 50),
  },
  { additionalProperties: false, description: 'either { placeId } or the full address (as Productfy’s customer API takes it)' },
);
const Key = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'the customer key: unique in the tenant; billing webhooks find the customer by it (Chargify: the customer reference)',
});

export const Customer = Type.Object(
  {
    id: Type.String(),
    tenantId: Type.String(),
    key: Type.String(),
    kind: Kind,
    name: Type.String(),
    email: Type.Union([Type.String(), Type.Null()]),
    profile: JsonObject,
    address: Type.Union([Address, Type.Null()]),
    customData: JsonObject,
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Customer' },
);

const Email = Type.String({ format: 'email', maxLength: 320 });
const Profile = Type.Record(Type.String(), Type.Unknown(), {
  description: 'demographic and other details (date of birth, phone, …)',
  maxProperties: 100,
});
const CustomData = Type.Record(Type.String({ maxLength: 100 }), Type.Unknown(), {
  description: 'custom data fields; on PATCH they merge, and a field set to null is removed',
  maxProperties: 100,
});

const CustomerParams = Type.Object({
  tenant: TenantParams.properties.tenant,
  customer: Type.String({ minLength: 1, maxLength: 200, description: 'the customer id or key' }),
});

export default async function customerRoutes(app: Api, { db, box, clock, onEventsAccepted, onInboundReceived }: ApiDeps) {
  const tags = ['customers'];

  app.post(
    '/v1/tenants/:tenant/customers',
    {
      schema: {
        tags,
        summary: 'Create a customer (person or organization)',
        description: 'Billing webhooks held as unmatched for this key are applied now, in the order they arrived.',
        params: TenantParams,
        body: Type.Object(
          {
            key: Key,
            kind: Kind,
            name: Type.Optional(Type.String({ maxLength: 200 })),
            email: Type.Optional(Type.Union([Email, Type.Null()])),
            profile: Type.Optional(Profile),
            address: Type.Optional(Type.Union([Address, Type.Null()])),
            customData: Type.Optional(CustomData),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Customer'), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req, reply) => {
      const { customer, released } = await createCustomerAnnounced(db, box, clock, req.tenant.id, req.body);
      onEventsAccepted();
      if (released) onInboundReceived();
      return reply.status(201).send(customer);
    },
  );

  app.get(
    '/v1/tenants/:tenant/customers',
    {
      schema: {
        tags,
        summary: 'List or search customers',
        description:
          '`search` matches part of the key, name or email in any case (`%` and `_` are taken literally); `kind` keeps persons or organizations.',
        params: TenantParams,
        querystring: listQuery({
          search: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'part of the key, name or email, any case' })),
          kind: Type.Optional(Kind),
        }),
        response: { 200: page(Type.Ref('Customer')), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const q = req.query;
      return listCustomers(db, req.tenant.id, q);
    },
  );

  app.get(
    '/v1/tenants/:tenant/customers/:customer',
    {
      schema: {
        tags,
        summary: 'Get a customer by id or key',
        description: 'The customer by Herald’s id or by the tenant’s customer key.',
        params: CustomerParams,
        response: { 200: Type.Ref('Customer'), ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return getCustomer(db, req.tenant.id, req.params.customer);
    },
  );

  app.get(
    '/v1/tenants/:tenant/customers/:customer/custom-data',
    {
      schema: {
        tags,
        summary: "Read a customer's custom data fields",
        description: 'The custom data fields saved on the customer, as one JSON object.',
        params: CustomerParams,
        response: { 200: Type.Object({ customData: JsonObject }), ...errors(401, 403, 404) },
      },
    },
    async (req) => {
      return { customData: (await getCustomer(db, req.tenant.id, req.params.customer)).customData };
    },
  );

  app.patch(
    '/v1/tenants/:tenant/customers/:customer',
    {
      schema: {
        tags,
        summary: 'Change a customer; customData merges (null removes a field)',
        description:
          'Changes only the fields sent; `customData` merges field by field and a `null` removes one. Announced as `customer.updated`; billing webhooks waiting for a new key are applied.',
        params: CustomerParams,
        body: Type.Object(
          {
            key: Type.Optional(Key),
            kind: Type.Optional(Kind),
            name: Type.Optional(Type.String({ maxLength: 200 })),
            email: Type.Optional(Type.Union([Email, Type.Null()])),
            profile: Type.Optional(Profile),
            address: Type.Optional(Type.Union([Address, Type.Null()])),
            customData: Type.Optional(CustomData),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Customer'), ...errors(400, 401, 403, 404, 409) },
      },
    },
    async (req) => {
      const current = await getCustomer(db, req.tenant.id, req.params.customer);
      const { customer, released } = await updateCustomerAnnounced(db, box, clock, current, req.body);
      onEventsAccepted();
      if (released) onInboundReceived();
      return customer;
    },
  );

  app.delete(
    '/v1/tenants/:tenant/customers/:customer',
    {
      schema: {
        tags,
        summary: 'Delete a customer and its billing records',
        description:
          'Removes the customer with its subscriptions, transactions and refunds. Webhooks received for its key later wait as unmatched.',
        params: CustomerParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      const current = await getCustomer(db, req.tenant.id, req.params.customer);
      await deleteCustomer(db, req.tenant.id, current.id);
      return reply.status(204).send();
    },
  );
}
