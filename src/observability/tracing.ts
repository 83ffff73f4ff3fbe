import {
  type Attributes,
  type Context,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer,
  defaultTextMapGetter,
  defaultTextMapSetter,
  trace,
} from '@opentelemetry/api';
import { VERSION } from '../version.js';
import type { Config } from '../config.js';
import type { Logger } from '../log.js';

// OpenTelemetry traces, off unless OTEL_EXPORTER_OTLP_ENDPOINT (or its traces-only variant) is
// set. Off, nothing of the SDK is even loaded and every call site is one `if (tracing)`: free.
//
// No global provider and no context manager: each Herald owns its tracer, and parents are passed
// explicitly (an event stores the traceparent of the span that accepted it; its attempts' spans
// are started from it, in another process perhaps, minutes later). That keeps tests that run
// several Heralds in one process apart, and leaves nothing behind in a host application.

/** A W3C traceparent propagator: the standard header, read and written by the OpenTelemetry core. */
interface Propagator {
  inject(context: Context, carrier: unknown, setter: typeof defaultTextMapSetter): void;
  extract(context: Context, carrier: unknown, getter: typeof defaultTextMapGetter): Context;
}

export class Tracing {
  constructor(
    private readonly tracer: Tracer,
    private readonly propagator: Propagator,
    private readonly flushAndStop: () => Promise<void>,
  ) {}

  /** The context a request's `traceparent` header names (the root context when it has none). */
  contextOfHeaders(headers: Record<string, string | string[] | undefined>): Context {
    return this.propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
  }

  /** The context a stored traceparent names (the root context for null). */
  contextOf(traceParent: string | null | undefined): Context {
    return traceParent ? this.contextOfHeaders({ traceparent: traceParent }) : ROOT_CONTEXT;
  }

  start(name: string, kind: SpanKind, parent: Context, attributes: Attributes = {}): Span {
    return this.tracer.startSpan(name, { kind, attributes }, parent);
  }

  /** The `traceparent` header value that makes `span` the parent: stored with events, sent with deliveries. */
  traceParentOf(span: Span): string | undefined {
    const carrier: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, defaultTextMapSetter);
    return carrier.traceparent;
  }

  /** Exports what is buffered and stops: called when Herald stops, so no span of its last seconds is lost. */
  shutdown(): Promise<void> {
    return this.flushAndStop();
  }
}

/** Ends `span` as failed with `err`, or as done. */
export function endSpan(span: Span, err?: unknown): void {
  if (err) {
    span.recordException(err as Error);
    span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
  }
  span.end();
}

export { SpanKind };

/**
 * Starts the exporter when OTLP is configured: OTLP over HTTP (JSON) to
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, or `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces` (declared
 * with Herald's settings). The exporter reads its own OTEL_EXPORTER_OTLP_HEADERS and the batch
 * processor its OTEL_BSP_* settings.
 */
export async function startTracing(
  config: Pick<Config, 'otlpEndpoint' | 'otlpTracesEndpoint' | 'otelServiceName' | 'otelSdkDisabled'>,
  log: Logger,
): Promise<Tracing | null> {
  const endpoint = config.otlpTracesEndpoint ?? (config.otlpEndpoint ? tracesUrl(config.otlpEndpoint) : null);
  if (!endpoint || config.otelSdkDisabled) return null;
  const [{ BasicTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, { resourceFromAttributes }, { W3CTraceContextPropagator }] =
    await Promise.all([
      import('@opentelemetry/sdk-trace-base'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
      import('@opentelemetry/core'),
    ]);
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.otelServiceName, 'service.version': VERSION }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }))],
  });
  log.info({ endpoint }, 'tracing: exporting spans over OTLP/HTTP');
  return new Tracing(provider.getTracer('herald', VERSION), new W3CTraceContextPropagator(), () => provider.shutdown());
}

function tracesUrl(base: string): string {
  return base.replace(/\/+$/, '') + '/v1/traces';
}
