import { type Span, SpanStatusCode } from '@opentelemetry/api';
import { SpanKind, type Tracing } from '../observability/tracing.js';
import type { DeliveryRequest } from './prepare.js';
import type { SendResult } from './send.js';
import type { ClaimedDelivery } from './sql/claimDueDeliveries.js';

/**
 * The span of one attempt: an HTTP client span (OpenTelemetry's HTTP semantic conventions), the
 * child of the span that accepted the event, whose `traceparent` goes out with the request so
 * the receiver's own trace continues it. The URL is recorded without its query string, which may
 * carry a credential of the receiver's.
 */
export function startAttemptSpan(tracing: Tracing, d: ClaimedDelivery, req: DeliveryRequest): Span {
  const url = new URL(req.url);
  const span = tracing.start('POST', SpanKind.CLIENT, tracing.contextOf(d.traceParent), {
    'http.request.method': 'POST',
    'url.full': `${url.protocol}//${url.host}${url.pathname}`,
    'server.address': url.hostname,
    'server.port': Number(url.port) || (url.protocol === 'https:' ? 443 : 80),
    'herald.delivery.id': d.id,
    'herald.event.id': d.eventId,
    'herald.event.type': d.type,
    'herald.endpoint.id': d.endpointId,
    'herald.tenant.id': d.tenantId,
    'herald.attempt': d.attempts + 1,
  });
  const traceParent = tracing.traceParentOf(span);
  if (traceParent) req.headers.traceparent = traceParent;
  return span;
}

export function endAttemptSpan(span: Span, r: SendResult): void {
  if (r.statusCode !== null) span.setAttribute('http.response.status_code', r.statusCode);
  const failed = r.statusCode === null || r.statusCode >= 400;
  if (failed) {
    span.setAttribute('error.type', r.statusCode === null ? 'connection' : String(r.statusCode));
    span.setStatus({ code: SpanStatusCode.ERROR, ...(r.error ? { message: r.error } : {}) });
  }
  span.end();
}
