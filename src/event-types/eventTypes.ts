import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { TtlCache } from '../cache.js';
import type { Queryable } from '../db/db.js';
import { badRequest, HeraldError, notFound } from '../errors.js';
import { type Page, pageOf } from '../pagination.js';
import { CATALOGS, schemaOf } from './catalogs/index.js';

export interface EventType {
  name: string;
  description: string;
  schema: Record<string, unknown> | null;
  example: unknown;
  createdAt: string;
  updatedAt: string;
}

interface EventTypeRow {
  name: string;
  description: string;
  schema: string | null;
  example: string | null;
  created_at: number;
  updated_at: number;
}

const toEventType = (r: EventTypeRow): EventType => ({
  name: r.name,
  description: r.description,
  schema: r.schema === null ? null : (JSON.parse(r.schema) as EventType['schema']),
  example: r.example === null ? null : JSON.parse(r.example),
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
// Payload schemas are the operator's: compile them strictly enough to catch typos in the schema
// itself, and report every failing path at once.
const ajv = addFormats(new Ajv2020({ allErrors: true, strict: false }));

/** Event types by environment and name ({type: undefined} when missing), read by every event. */
const recent = new TtlCache<{ type: EventType | undefined }>(2000);
// Keyed by database too: a process may hold several (the tests do), with the same environment ids.
const cacheKey = (q: Queryable, environmentId: string, name: string) => `${q.where}\u0000${environmentId}\u0000${name}`;

/** Compiled validators, keyed by environment, name and version, so a schema compiles once. */
const compiled = new Map<string, ValidateFunction>();

export function checkSchema(schema: unknown): void {
  try {
    ajv.compile(schema as object);
  } catch (err) {
    throw badRequest(`schema is not a valid JSON Schema: ${(err as Error).message}`);
  }
}

const COLUMNS = 'name, description, schema, example, created_at, updated_at';

export async function upsertEventType(
  q: Queryable,
  environmentId: string,
  input: { name: string; description?: string; schema?: unknown; example?: unknown },
  opts: { replace: boolean },
): Promise<{ eventType: EventType; created: boolean }> {
  if (input.schema !== undefined && input.schema !== null) checkSchema(input.schema);
  if (input.schema && input.example !== undefined) {
    const errors = validateWith(ajv.compile(input.schema), input.example);
    if (errors) throw badRequest(`example does not match the schema: ${errors}`);
  }
  recent.delete(cacheKey(q, environmentId, input.name));
  const now = Date.now();
  const existing = await q.one('SELECT 1 AS x FROM event_types WHERE environment_id = $1 AND name = $2', [environmentId, input.name]);
  if (existing && !opts.replace) {
    throw new HeraldError('conflict', `event type "${input.name}" already exists; PATCH /v1/event-types/${input.name} changes it`);
  }
  const row = await q.one<EventTypeRow>(
    `INSERT INTO event_types (environment_id, name, description, schema, example, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $6)
     ON CONFLICT (environment_id, name) DO UPDATE
       SET description = excluded.description, schema = excluded.schema, example = excluded.example, updated_at = excluded.updated_at
     RETURNING ${COLUMNS}`,
    [
      environmentId,
      input.name,
      input.description ?? '',
      input.schema == null ? null : JSON.stringify(input.schema),
      input.example === undefined ? null : JSON.stringify(input.example),
      now,
    ],
  );
  return { eventType: toEventType(row!), created: !existing };
}

export async function findEventType(q: Queryable, environmentId: string, name: string): Promise<EventType | undefined> {
  const row = await q.one<EventTypeRow>(`SELECT ${COLUMNS} FROM event_types WHERE environment_id = $1 AND name = $2`, [
    environmentId,
    name,
  ]);
  return row && toEventType(row);
}

export async function getEventType(q: Queryable, environmentId: string, name: string): Promise<EventType> {
  const t = await findEventType(q, environmentId, name);
  if (!t) throw notFound('event type', name);
  return t;
}

export async function listEventTypes(q: Queryable, environmentId: string, limit: number, cursor?: string): Promise<Page<EventType>> {
  const rows = await q.all<EventTypeRow>(
    `SELECT ${COLUMNS} FROM event_types WHERE environment_id = $1 AND (CAST($2 AS text) IS NULL OR name > $2) ORDER BY name LIMIT $3`,
    [environmentId, cursor ?? null, limit + 1],
  );
  return pageOf(rows.map(toEventType), limit, (t) => t.name);
}

export async function deleteEventType(q: Queryable, environmentId: string, name: string): Promise<void> {
  recent.delete(cacheKey(q, environmentId, name));
  const n = await q.run('DELETE FROM event_types WHERE environment_id = $1 AND name = $2', [environmentId, name]);
  if (n === 0) throw notFound('event type', name);
}

export async function importCatalog(q: Queryable, environmentId: string, catalog: string): Promise<number> {
  const c = CATALOGS[catalog];
  if (!c) throw badRequest(`unknown catalog "${catalog}"; available: ${Object.keys(CATALOGS).join(', ')}`);
  for (const t of c.types) {
    await upsertEventType(
      q,
      environmentId,
      { name: t.name, description: t.description, schema: schemaOf(t), example: t.example },
      { replace: true },
    );
  }
  return c.types.length;
}

function validateWith(fn: ValidateFunction, value: unknown): string | null {
  if (fn(value)) return null;
  return (fn.errors ?? [])
    .slice(0, 10)
    .map(
      (e) =>
        `${e.instancePath || '/'} ${e.message}${e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')})` : ''}`,
    )
    .join('; ');
}

/**
 * Checks an event payload against its type. Answers the type (events need its existence), or
 * throws a 400 that names the failing paths, or how to create a missing type.
 */
export async function checkPayload(q: Queryable, environmentId: string, type: string, payload: unknown): Promise<void> {
  const key = cacheKey(q, environmentId, type);
  let hit = recent.get(key);
  if (!hit) {
    hit = { type: await findEventType(q, environmentId, type) };
    recent.set(key, hit);
  }
  const t = hit.type;
  if (!t) {
    throw badRequest(
      `unknown event type "${type}": create it first with POST /v1/event-types {"name":"${type}"} or import a catalog with POST /v1/event-types/import`,
    );
  }
  if (!t.schema) return;
  const version = `${key}\u0000${t.updatedAt}`;
  let fn = compiled.get(version);
  if (!fn) {
    fn = ajv.compile(t.schema);
    compiled.set(version, fn);
  }
  const errors = validateWith(fn, payload);
  if (errors) throw badRequest(`payload does not match the schema of "${type}": ${errors}`);
}

/**
 * Makes sure these types exist, leaving existing ones as they are: the types a source forwards are
 * known before the first webhook arrives, so endpoints can subscribe to them.
 */
export async function ensureEventTypes(q: Queryable, environmentId: string, types: { name: string; description: string }[]): Promise<void> {
  const now = Date.now();
  for (const t of types) {
    await q.run(
      `INSERT INTO event_types (environment_id, name, description, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)
       ON CONFLICT (environment_id, name) DO NOTHING`,
      [environmentId, t.name, t.description, now],
    );
  }
}
