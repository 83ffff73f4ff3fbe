import type { FastifyError, FastifyInstance } from 'fastify';
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
      message = `invalid request: ${err.message}`;
      details = err.validation.map((v) => ({ path: `${err.validationContext}${v.instancePath}`, message: v.message, params: v.params }));
    } else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      status = 413;
      code = 'payload_too_large';
      message = `request body is larger than the limit of ${req.routeOptions.bodyLimit ?? opts.maxBodyBytes} bytes`;
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
      error: { code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}; see /openapi.json for the API`, requestId: req.id },
    });
  });
}
