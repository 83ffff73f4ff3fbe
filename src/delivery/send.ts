import { Agent, request } from 'undici';
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
 * One POST. Redirects are never followed (undici's request does not, and a 3xx counts as a
 * failure). At most 4 KiB of the answer is kept; a larger answer is cut off and its connection
 * dropped rather than read to the end.
 */
export async function send(agent: Agent, url: string, headers: Record<string, string>, body: string | Buffer, timeoutMs: number): Promise<SendResult> {
  const started = performance.now();
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(url, { method: 'POST', headers, body, dispatcher: agent, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
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
 * (and TLS) handshake for every webhook. `lookup` replaces DNS resolution (production: the SSRF
 * guard, which refuses a connection to a private address whatever the name resolves to today).
 */
export function createAgent(lookup?: typeof import('node:dns').lookup): Agent {
  return new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 128, pipelining: 1, connect: lookup ? { lookup } : undefined });
}
