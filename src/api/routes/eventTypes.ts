import { Type } from '@sinclair/typebox';
import { deleteEventType, getEventType, importCatalog, listEventTypes, upsertEventType } from '../../event-types/eventTypes.js';
import { CATALOGS } from '../../event-types/catalogs/index.js';
import { operatorOnly } from '../auth.js';
import type { Api, ApiDeps } from '../deps.js';
import { errors, NoContent, ListQuery, page, Timestamp } from '../schemas.js';

const Name = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$',
  description: 'letters, digits, . _ : -',
});

export const EventType = Type.Object(
  {
    name: Type.String(),
    description: Type.String(),
    schema: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
    example: Type.Unknown(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  },
  { $id: 'EventType' },
);

const Body = Type.Object(
  {
    name: Name,
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    schema: Type.Optional(
      Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()], { description: 'JSON Schema (2020-12) of the payload' }),
    ),
    example: Type.Optional(Type.Unknown({ description: 'an example payload, sent by test events' })),
  },
  { additionalProperties: false },
);

const Patch = Type.Object(
  {
    description: Type.Optional(Type.String({ maxLength: 2000 })),
    schema: Type.Optional(Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()])),
    example: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 100 }) });

export default async function eventTypeRoutes(app: Api, { db }: ApiDeps) {
  const tags = ['event types'];

  app.post(
    '/v1/event-types',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'Create an event type',
        description:
          'An event type is a name endpoints subscribe to, with an optional JSON Schema that every payload must match and an example sent by test events. Operator keys only.',
        body: Body,
        response: { 201: Type.Ref('EventType'), ...errors(400, 401, 403, 409) },
      },
    },
    async (req, reply) => {
      const { eventType } = await upsertEventType(db, req.actor.environmentId, req.body, { replace: false });
      return reply.status(201).send(eventType);
    },
  );

  app.get(
    '/v1/event-types',
    {
      schema: {
        tags,
        summary: 'List event types',
        description: 'The environment’s catalogue, a page at a time. Any key of the environment may read it.',
        querystring: ListQuery,
        response: { 200: page(Type.Ref('EventType')), ...errors(400, 401) },
      },
    },
    async (req) => {
      const q = req.query;
      return listEventTypes(db, req.actor.environmentId, q.limit, q.cursor);
    },
  );

  app.get(
    '/v1/event-types/:name',
    {
      schema: {
        tags,
        summary: 'Get an event type',
        description: 'One type with its schema and example.',
        params: NameParams,
        response: { 200: Type.Ref('EventType'), ...errors(401, 404) },
      },
    },
    async (req) => getEventType(db, req.actor.environmentId, req.params.name),
  );

  app.patch(
    '/v1/event-types/:name',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'Change an event type',
        description: 'Changes only the fields sent; a new schema applies to events posted from now on. Operator keys only.',
        params: NameParams,
        body: Patch,
        response: { 200: Type.Ref('EventType'), ...errors(400, 401, 403, 404) },
      },
    },
    async (req) => {
      const { name } = req.params;
      const patch = req.body;
      const current = await getEventType(db, req.actor.environmentId, name);
      const { eventType } = await upsertEventType(
        db,
        req.actor.environmentId,
        {
          name,
          description: patch.description ?? current.description,
          schema: 'schema' in patch ? patch.schema : current.schema,
          example: 'example' in patch ? patch.example : current.example,
        },
        { replace: true },
      );
      return eventType;
    },
  );

  app.delete(
    '/v1/event-types/:name',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'Delete an event type',
        description: 'Endpoints that subscribed to it keep the name in their list but receive nothing more of it. Operator keys only.',
        params: NameParams,
        response: { 204: NoContent, ...errors(401, 403, 404) },
      },
    },
    async (req, reply) => {
      await deleteEventType(db, req.actor.environmentId, req.params.name);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/event-types/import',
    {
      preHandler: operatorOnly,
      schema: {
        tags,
        summary: 'Import a catalog of event types',
        description: `Creates or updates every type of the catalog. Catalogs: ${Object.keys(CATALOGS).join(', ')}.`,
        body: Type.Object({ catalog: Type.String({ minLength: 1 }) }, { additionalProperties: false }),
        response: { 200: Type.Object({ imported: Type.Integer() }), ...errors(400, 401, 403) },
      },
    },
    async (req) => {
      const imported = await db.tx((q) => importCatalog(q, req.actor.environmentId, req.body.catalog));
      return { imported };
    },
  );
}
