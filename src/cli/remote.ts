import { request } from 'undici';
import { CliError } from './errors.js';

// The REST client of the commands that can work against a running Herald (HERALD_URL and
// HERALD_KEY). Every failure becomes one CliError line that says what is wrong and what to do:
// Herald unreachable, the key refused, an answer that is not Herald's.

interface ErrorBody {
  error?: { code?: string; message?: string };
}

/** Herald (or something at HERALD_URL) answered with an error status: asking again will not help. */
export class RefusedError extends CliError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ECONNRESET', 'ENETUNREACH']);

/** Why a request never got an answer, in one line. */
export function unreachable(baseUrl: string, err: unknown): CliError {
  const e = err as Error & { code?: string; cause?: { code?: string; message?: string } };
  const code = e.code ?? e.cause?.code;
  if (code && NETWORK_CODES.has(code)) {
    return new CliError(`cannot reach Herald at ${baseUrl} (${code}): is it running there? HERALD_URL names the address`);
  }
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new CliError(`Herald at ${baseUrl} did not answer in time (${code}): check HERALD_URL and that Herald is up`);
  }
  return new CliError(`cannot reach Herald at ${baseUrl}: ${e.cause?.message ?? e.message}; check HERALD_URL`);
}

export class RemoteHerald {
  constructor(
    readonly baseUrl: string,
    private readonly key: string,
  ) {}

  private headers(body: boolean): Record<string, string> {
    return { authorization: `Bearer ${this.key}`, accept: 'application/json', ...(body ? { 'content-type': 'application/json' } : {}) };
  }

  /** One call; answers the parsed JSON body (undefined for a 204). */
  async call<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    let res;
    try {
      res = await request(this.baseUrl + path, {
        method,
        headers: this.headers(body !== undefined),
        body: body === undefined ? undefined : JSON.stringify(body),
        headersTimeout: 30_000,
        bodyTimeout: 30_000,
      });
    } catch (err) {
      throw unreachable(this.baseUrl, err);
    }
    const text = await res.body.text();
    if (res.statusCode >= 400) throw this.refusal(res.statusCode, text);
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new CliError(`${this.baseUrl} answered something that is not JSON: is HERALD_URL the address of a Herald?`);
    }
  }

  /** The answer of an error status, as Herald's message says it, with what to do about the key. */
  refusal(status: number, text: string): RefusedError {
    let body: ErrorBody | null = null;
    try {
      body = JSON.parse(text) as ErrorBody;
    } catch {
      // Not Herald's error format: said below.
    }
    const message = body?.error?.message;
    if (!message) {
      return new RefusedError(
        `${this.baseUrl} answered ${status} without a Herald error: is HERALD_URL the address of a Herald (no path)?`,
        status,
      );
    }
    if (status === 401) return new RefusedError(`Herald at ${this.baseUrl} refused HERALD_KEY: ${message}`, status);
    if (status === 403) return new RefusedError(`HERALD_KEY may not do this: ${message}`, status);
    return new RefusedError(message, status);
  }

  /**
   * Reads a stream of JSON lines, handing each to `onLine`, until it ends (resolves) or `signal`
   * aborts (resolves). A stream that never sends anything for 60 s is taken as lost (Herald pings
   * every 15 s). Rejects with a CliError when it cannot be opened or breaks off.
   */
  async stream(path: string, onLine: (line: unknown) => Promise<void> | void, signal: AbortSignal): Promise<void> {
    let res;
    try {
      res = await request(this.baseUrl + path, {
        method: 'GET',
        headers: { ...this.headers(false), accept: 'application/x-ndjson' },
        headersTimeout: 30_000,
        bodyTimeout: 60_000,
        signal,
      });
    } catch (err) {
      if (signal.aborted) return;
      throw unreachable(this.baseUrl, err);
    }
    if (res.statusCode >= 400) throw this.refusal(res.statusCode, await res.body.text());
    let buffered = '';
    try {
      for await (const chunk of res.body) {
        buffered += (chunk as Buffer).toString('utf8');
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line) await onLine(JSON.parse(line));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof CliError) throw err;
      throw unreachable(this.baseUrl, err);
    }
  }
}
