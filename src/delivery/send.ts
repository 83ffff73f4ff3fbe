import { setMaxListeners } from 'node:events';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { type AddressPolicy, refusal } from '../endpoints/urlPolicy.js';
import { parseRetryAfter } from './retryPolicy.js';

export interface SendResult {
  statusCode: number | null;
  error: string | null;
  responseBody: string | null;
  durationMs: number;
  retryAfterMs: number | null;
}

const KEEP = 4096;

/**
 * Requests that start within the same GRAIN_MS share one deadline signal, set to fire GRAIN_MS
 * after the first one's timeout: each request is cut off after at least its timeout and at most
 * GRAIN_MS more. A signal and its timer per request (AbortSignal.timeout) were 2-3 % of the main
 * thread under load.
 */
const GRAIN_MS = 20;
let shared: { signal: AbortSignal; from: number; timeoutMs: number } | null = null;

function deadline(timeoutMs: number): AbortSignal {
  const now = performance.now();
  if (!shared || shared.timeoutMs !== timeoutMs || now - shared.from >= GRAIN_MS) {
    const signal = AbortSignal.timeout(timeoutMs + GRAIN_MS);
    // Every request in flight listens to it: many listeners are expected here, not a leak to warn of.
    setMaxListeners(0, signal);
    shared = { signal, from: now, timeoutMs };
  }
  return shared.signal;
}

/** An endpoint URL cut into what undici's dispatch takes, kept: endpoints are few, their URLs repeat. */
const targets = new Map<string, { origin: string; path: string }>();

function target(url: string): { origin: string; path: string } {
  let t = targets.get(url);
  if (!t) {
    const u = new URL(url);
    t = { origin: u.origin, path: `${u.pathname}${u.search}` };
    if (targets.size >= 1000) targets.clear();
    targets.set(url, t);
  }
  return t;
}

/**
 * One POST, written as an undici dispatch handler: the answer's status, headers and first
 * KEEP bytes are all Herald reads, so it never becomes a stream. (`request()` wraps each answer in
 * a Readable and Herald read it with an async iterator: objects and promises per chunk, for a body
 * that is usually empty.) Settles once, with whichever comes first: the end, an error, the deadline.
 */
class Post implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private statusCode = 0;
  private retryAfter: string | string[] | undefined;
  private readonly chunks: Buffer[] = [];
  private size = 0;
  private done = false;
  private readonly onAbort = () => this.controller?.abort(this.signal.reason as Error);

  constructor(
    private readonly signal: AbortSignal,
    private readonly timeoutMs: number,
    private readonly started: number,
    private readonly settle: (r: SendResult) => void,
  ) {
    signal.addEventListener('abort', this.onAbort, { once: true });
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.controller = controller;
    if (this.signal.aborted) controller.abort(this.signal.reason as Error);
  }

  onResponseStart(_c: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[] | undefined>): void {
    this.statusCode = statusCode;
    if (statusCode === 429 || statusCode === 503) this.retryAfter = headers['retry-after'];
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.done) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Enough kept: answer with it, and drop the connection rather than read the rest.
    if (this.size >= KEEP) {
      this.answered();
      controller.abort(new Error('answer longer than Herald keeps'));
    }
  }

  onResponseEnd(): void {
    this.answered();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    if (this.done) return;
    const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
    const reason = this.signal.aborted
      ? `timed out after ${this.timeoutMs} ms`
      : [e.code ?? e.cause?.code, e.cause?.message ?? e.message].filter(Boolean).join(': ');
    this.finish({ statusCode: null, error: reason, responseBody: null, durationMs: this.elapsed(), retryAfterMs: null });
  }

  private answered(): void {
    if (this.done) return;
    const body = this.chunks.length === 0 ? '' : Buffer.concat(this.chunks).subarray(0, KEEP).toString('utf8');
    this.finish({
      statusCode: this.statusCode,
      error: null,
      responseBody: body,
      durationMs: this.elapsed(),
      retryAfterMs: this.retryAfter === undefined ? null : parseRetryAfter(this.retryAfter),
    });
  }

  private elapsed(): number {
    return Math.round(performance.now() - this.started);
  }

  private finish(r: SendResult): void {
    this.done = true;
    this.signal.removeEventListener('abort', this.onAbort);
    this.settle(r);
  }
}

/**
 * One POST. Redirects are never followed (a 3xx counts as a failure). At most 4 KiB of the answer
 * is kept; a larger answer is cut off and its connection dropped rather than read to the end.
 * Never rejects: a failure to connect or a timeout is a result with `error`.
 */
export function send(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
  timeoutMs: number,
): Promise<SendResult> {
  const started = performance.now();
  const signal = deadline(timeoutMs);
  return new Promise<SendResult>((settle) => {
    const handler = new Post(signal, timeoutMs, started, settle);
    try {
      const { origin, path } = target(url);
      agent.dispatch({ origin, path, method: 'POST', headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs }, handler);
    } catch (err) {
      handler.onResponseError(null as never, err as Error);
    }
  });
}

/**
 * Keep-alive pools per origin: a busy endpoint reuses its connections instead of paying a new TCP
 * (and TLS) handshake for every webhook. With `guard`, every new connection goes through the
 * address guard (delivery to an endpoint not allowed private addresses): a name is checked on
 * every address it resolves to at that moment, and a literal address, which net.connect never
 * looks up, is checked here.
 */
export function createAgent(guard?: AddressPolicy): Agent {
  const options = { keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 128, pipelining: 1 };
  if (!guard) return new Agent(options);
  return new Agent({ ...options, connect: guardedConnector(guard) });
}

function guardedConnector(guard: AddressPolicy): buildConnector.connector {
  const connect = buildConnector({ lookup: guard.guardedLookup });
  return (opts, callback) => {
    const host = opts.hostname.replace(/^\[|\]$/g, '');
    // A literal address (or localhost) is judged as written; a name by what it resolves to.
    if (guard.isBlocked(host)) return callback(refusal(`${host} is a private or reserved address`), null);
    connect(opts, callback);
  };
}
