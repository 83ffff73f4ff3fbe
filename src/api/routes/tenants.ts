import { Type } from '@sinclair/typebox';
import { createTenant, deleteTenant, listTenants, rotateTenantToken, updateTenant } from '../../tenants/tenants.js';
import { requireOperator } from '../../auth/actor.js';
import { auditRequest } from '../audit.js';
import { operatorOnly } from '../auth.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, NoContent, JsonObject, listQuery, page, TenantParams, Timestamp } from '../schemas.js';

export const Tenant = Type.Object(
  {
    id: Type.String(),
    uid: Type.String(),
    name: Type.String(),
    token: Type.String({ description: 'sent in the token header of every webhook to this tenant' }),
    metadata: JsonObject,
    callQuota: Type.Union([Type.Integer(), Type.Null()], { description: 'API calls this tenant may make in all; null: unlimited' }),
    callsUsed: Type.Integer(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'Tenant' },
);

const Quota = Type.Union([Type.Integer({ minimum: 0 }), Type.Null()], {
  description: 'API calls the tenant may make in all (e.g. 100 free production calls); null: unlimited',
});

const Uid = Type.String({
  minLength: 1,
  maxLength: 200,
  pattern: '^[A-Za-z0-9._:@-]+$',
  description: "the operator's own id for this tenant",
});

export default async function tenantRoutes(app: Api, { db, auth, box, receivingSources }: ApiDeps) {
  const tags = ['tenants'];

  app.post(
    '/v1/tenants',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'Create a tenant',
        description:
          'A tenant is one of your clients. `uid` is your own id for it and works in paths wherever an id does. The answer holds its webhook `token`, sent in the token header with every webhook. Operator keys only.',
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 200 }),
            uid: Type.Optional(Uid),
            metadata: Type.Optional(JsonObject),
            callQuota: Type.Optional(Quota),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Tenant'), ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      return reply.status(201).send(await createTenant(db, box, req.actor.environmentId, req.body));
    },
  );

  app.get(
    '/v1/tenants',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'List or search tenants',
        description:
          'Every tenant of the environment, newest first, a page at a time. `search` keeps the tenants whose uid or name starts with it, in any case, and the one whose id it is (a pasted id); pass it again with `cursor` for the next page. Operator keys only.',
        querystring: listQuery({
          search: Type.Optional(
            Type.String({ minLength: 1, maxLength: 200, description: 'the start of a uid or name (any case), or a whole tenant id' }),
          ),
        }),
        response: { 200: page(Type.Ref('Tenant')), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const q = req.query;
      return listTenants(db, box, req.actor.environmentId, { limit: q.limit, cursor: q.cursor, search: q.search });
    },
  );

  app.get(
    '/v1/tenants/:tenant',
    {
      schema: {
        tags,
        summary: 'Get a tenant',
        description: 'The tenant by id or uid, with its token, metadata and quota. A tenant-scoped key reads only its own tenant.',
        params: TenantParams,
        response: { 200: Type.Ref('Tenant'), ...errors(401, 403, 404) },
      },
    },
    async (req) => req.tenant,
  );

  app.patch(
    '/v1/tenants/:tenant',
    {
      schema: {
        tags,
        summary: 'Change a tenant',
        description: 'Changes only the fields sent; `metadata` is replaced whole. Operator keys only.',
        params: TenantParams,
        body: Type.Object(
          {
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            uid: Type.Optional(Uid),
            metadata: Type.Optional(JsonObject),
            callQuota: Type.Optional(Quota),
            resetCalls: Type.Optional(Type.Boolean({ description: 'start counting calls from zero again' })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Tenant'), ...errors(400, 401, 403, 404, 409) },
      },
      // Changing a quota is the operator's call, and must work when the quota is used up.
      config: { uncountedCall: true },
      preHandler: async (req) => {
        if (req.body.callQuota !== undefined || req.body.resetCalls) requireOperator(req.actor);
      },
    },
    async (req) => {
      const updated = await updateTenant(db, box, req.tenant, req.body);
      auth.forgetTenant(req.tenant.id);
      return updated;
    },
  );

  app.post(
    '/v1/tenants/:tenant/rotate-token',
    {
      schema: {
        tags,
        summary: "Rotate the tenant's webhook token",
        description:
          'Replaces the token sent in the token header of every webhook to this tenant, at once: there is no overlap (the header carries one ' +
          'value). Deliveries a worker has already claimed may still carry the old token (within HERALD_LEASE_SECONDS); every later attempt carries the new one. ' +
          'To switch without a refused webhook, choose the new token yourself, make the receiver accept both, rotate with {"token": …}, then drop the old one.',
        params: TenantParams,
        body: Type.Object(
          {
            token: Type.Optional(
              Type.String({
                minLength: 24,
                maxLength: 200,
                pattern: '^[\\x21-\\x7e]+$',
                description: 'the new token (24–200 visible ASCII characters, no spaces); random when left out',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Tenant'), ...errors(400, 401, 403, 404) },
      },
      // The body is optional: a bare POST (no body, no content-type) means "a random new token".
      preValidation: async (req) => {
        req.body ??= {};
      },
    },
    async (req) => {
      const chosen = req.body?.token;
      const rotated = await rotateTenantToken(db, box, req.tenant, chosen);
      auth.forgetTenant(req.tenant.id);
      await auditRequest(db, req, 'tenant.token_rotated', req.tenant.id, { chosen: chosen !== undefined });
      return rotated;
    },
  );

  app.delete(
    '/v1/tenants/:tenant',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'Delete a tenant and everything under it',
        description:
          'Removes its endpoints, events, deliveries, sources, customers and billing records. Deliveries in flight are not sent again. Operator keys only.',
        params: TenantParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await deleteTenant(db, req.tenant.id);
      auth.forgetTenant(req.tenant.id);
      receivingSources.deleteWhere((s) => s?.tenantId === req.tenant.id);
      return reply.status(204).send();
    },
  );
}
