import type { FastifyError, FastifyInstance, FastifySchemaValidationError } from 'fastify';
import { isUnavailable } from '../db/db.js';
import { HeraldError } from '../errors.js';

// Every refusal leaves here as {"error":{"code","message","requestId"}}. Fastify's own errors
// (validation, body parsing, size) are translated into messages that say what to do.
export function installErrorHandling(app: FastifyInstance, opts: { maxBodyBytes: number }): void {
  app.setErrorHandler((err: FastifyError | HeraldError, req, reply) => {
    let status = 500;
    let code = 'internal';
    let message = 'something went wrong on our side; quote the request id if you report it';
    let details: unknown;
    if (err instanceof HeraldError) {
      status = err.status;
      code = err.code;
      message = err.message;
      const retryAfter = (err.details as { retryAfter?: number } | undefined)?.retryAfter;
      if (retryAfter) reply.header('retry-after', String(retryAfter));
      else details = err.details;
    } else if (err.validation) {
      status = 400;
      code = 'bad_request';
      const described = describeValidation(err.validation, err.validationContext ?? 'body');
      message = `invalid request: ${described.map((d) => d.message).join('; ')}`;
      details = described;
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      code = 'payload_too_large';
      const setting = req.routeOptions.config?.bodyLimitSetting;
      message = `the request body is larger than the limit of ${req.routeOptions.bodyLimit ?? opts.maxBodyBytes} bytes${setting ? ` (${setting})` : ''}; send a smaller one`;
    } else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      status = 415;
      code = 'unsupported_media_type';
      message = `content-type ${req.headers['content-type']} is not supported; send application/json`;
    } else if (err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
      status = 400;
      code = 'bad_request';
      message = 'the body is empty; send a JSON object';
    } else if (err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || (err.statusCode === 400 && err instanceof SyntaxError)) {
      status = 400;
      code = 'bad_request';
      message = `malformed JSON body: ${err.message}`;
    } else if (isUnavailable(err)) {
      // Nothing was stored: the client may simply retry (same idempotency key, same event).
      status = 503;
      code = 'unavailable';
      message = 'the database is unavailable right now; nothing was stored, retry in a few seconds';
      reply.header('retry-after', '2');
      req.log.warn({ err }, 'database unavailable');
    } else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      status = err.statusCode;
      code = status === 404 ? 'not_found' : status === 413 ? 'payload_too_large' : 'bad_request';
      message = err.message;
    }
    if (status >= 500) req.log.error({ err }, 'request failed');
    if (status === 429 && !reply.getHeader('retry-after')) reply.header('retry-after', '1');
    reply.status(status).send({ error: { code, message, requestId: req.id, ...(details ? { details } : {}) } });
  });

  app.setNotFoundHandler((req, reply) => {
    reply.status(404).send({
      error: {
        code: 'not_found',
        message: `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json for the API`,
        requestId: req.id,
      },
    });
  });
}

type AjvError = FastifySchemaValidationError & { schemaPath: string; parentSchema?: Record<string, unknown> };

const PLACE: Record<string, [root: string, prefix: string]> = {
  body: ['the body', ''],
  querystring: ['the query string', 'query parameter '],
  params: ['the path', 'path parameter '],
  headers: ['the headers', 'header '],
};

/** `/events/3/type` → `events[3].type`, named for where it is (body, query, path, headers). */
function place(context: string, instancePath: string): string {
  const [root, prefix] = PLACE[context] ?? [context, `${context} `];
  if (!instancePath) return root;
  const parts = instancePath
    .slice(1)
    .split('/')
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let path = '';
  for (const p of parts)
    path += /^\d+$/.test(p) ? `[${p}]` : /^[A-Za-z_$][\w$-]*$/.test(p) ? (path ? '.' : '') + p : `[${JSON.stringify(p)}]`;
  return prefix + path;
}

const list = (values: unknown[]) => values.map((v) => (typeof v === 'string' ? v : JSON.stringify(v))).join(', ');

/** What a schema accepts, when it says so in a list (a const, an enum). */
function allowed(schema: Record<string, unknown> | undefined): unknown[] | null {
  if (!schema) return null;
  if ('const' in schema) return [schema.const];
  if (Array.isArray(schema.enum)) return schema.enum as unknown[];
  return null;
}

/**
 * Ajv's errors, said once and plainly. A union of literals fails in every branch ("must be equal to
 * constant" seven times): it becomes one "must be one of: …" listing the values. An unknown field
 * is named, with the fields that are allowed; a missing one too.
 */
export function describeValidation(errors: FastifySchemaValidationError[], context: string): { path: string; message: string }[] {
  const all = errors as AjvError[];
  const out: { path: string; message: string }[] = [];
  const say = (instancePath: string, message: string) => {
    const path = place(context, instancePath);
    if (!out.some((o) => o.path === path && o.message === `${path} ${message}`)) out.push({ path, message: `${path} ${message}` });
  };
  // Errors of the branches of a failed anyOf are explained by the anyOf itself.
  const branches = new Set<AjvError>();
  for (const e of all) {
    if (e.keyword !== 'anyOf' && e.keyword !== 'oneOf') continue;
    const mine = all.filter((b) => b !== e && b.schemaPath.startsWith(`${e.schemaPath}/`));
    mine.forEach((b) => branches.add(b));
    const deeper = mine.filter((b) => b.instancePath.length > e.instancePath.length && b.keyword !== 'anyOf');
    if (deeper.length) {
      // The value has the right shape for a branch but something inside it is wrong: say that.
      for (const b of deeper) describe(b);
      continue;
    }
    const values: unknown[] = [];
    const types: string[] = [];
    let complete = true;
    for (const b of mine) {
      const a = allowed(b.parentSchema);
      if (a) values.push(...a.filter((v) => !values.includes(v)));
      else if (b.keyword === 'type') {
        for (const t of [b.params.type as string | string[]].flat()) if (!types.includes(t)) types.push(t);
      } else complete = false;
    }
    if (values.length && complete) say(e.instancePath, `must be one of: ${list([...values, ...(types.includes('null') ? [null] : [])])}`);
    else if (types.length && complete) say(e.instancePath, `must be ${types.join(' or ')}`);
    else say(e.instancePath, e.message ?? 'is not valid');
  }
  for (const e of all) if (!branches.has(e) && e.keyword !== 'anyOf' && e.keyword !== 'oneOf') describe(e);
  return out;

  function describe(e: AjvError): void {
    const p = e.params;
    switch (e.keyword) {
      case 'additionalProperties': {
        const known = Object.keys((e.parentSchema?.properties as Record<string, unknown> | undefined) ?? {});
        say(
          e.instancePath,
          `has an unknown field "${String(p.additionalProperty)}"; remove it${known.length ? ` (known fields: ${known.join(', ')})` : ''}`,
        );
        return;
      }
      case 'required':
        say(e.instancePath, `is missing the required field "${String(p.missingProperty)}"`);
        return;
      case 'const':
      case 'enum':
        say(e.instancePath, `must be one of: ${list(allowed(e.parentSchema) ?? (p.allowedValues as unknown[]) ?? [p.allowedValue])}`);
        return;
      case 'format':
        say(
          e.instancePath,
          p.format === 'date-time'
            ? 'must be an ISO 8601 date-time with a time zone, like 2021-07-09T09:15:18.223Z'
            : `must be a valid ${String(p.format)}`,
        );
        return;
      default:
        say(e.instancePath, e.message ?? 'is not valid');
    }
  }
}
