import { setMaxListeners } from 'node:events';
import { Agent, buildConnector, request } from 'undici';
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

/**
 * One POST. Redirects are never followed (undici's request does not, and a 3xx counts as a
 * failure). At most 4 KiB of the answer is kept; a larger answer is cut off and its connection
 * dropped rather than read to the end.
 */
export async function send(
  agent: Agent,
  url: string,
  headers: Record<string, string>,
  body: string | Buffer,
  timeoutMs: number,
): Promise<SendResult> {
  const started = performance.now();
  const signal = deadline(timeoutMs);
  try {
    const res = await request(url, {
      method: 'POST',
      headers,
      body,
      dispatcher: agent,
      signal,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body) {
      chunks.push(chunk as Buffer);
      size += (chunk as Buffer).length;
      if (size >= KEEP) {
        res.body.destroy();
        break;
      }
    }
    const text = Buffer.concat(chunks).subarray(0, KEEP).toString('utf8');
    return {
      statusCode: res.statusCode,
      error: null,
      responseBody: text,
      durationMs: Math.round(performance.now() - started),
      retryAfterMs: res.statusCode === 429 || res.statusCode === 503 ? parseRetryAfter(res.headers['retry-after']) : null,
    };
  } catch (err) {
    const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
    const reason = signal.aborted
      ? `timed out after ${timeoutMs} ms`
      : [e.code ?? e.cause?.code, e.cause?.message ?? e.message].filter(Boolean).join(': ');
    return { statusCode: null, error: reason, responseBody: null, durationMs: Math.round(performance.now() - started), retryAfterMs: null };
  }
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
