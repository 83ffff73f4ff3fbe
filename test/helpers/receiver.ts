import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  at: number;
}

export type Responder = (
  req: Received,
  n: number,
) => { status?: number; headers?: Record<string, string>; body?: string; delayMs?: number } | void;

/** A real webhook receiver on 127.0.0.1 that records every request and answers as told. */
export class Receiver {
  readonly received: Received[] = [];
  private server!: http.Server;
  private waiters: { pred: () => boolean; resolve: () => void }[] = [];
  url = '';
  /** Requests open right now, and the most ever open at once, per path. */
  readonly open = new Map<string, number>();
  readonly peakOpen = new Map<string, number>();

  constructor(public respond: Responder = () => ({ status: 200, body: 'ok' })) {}

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => {
      const p = req.url!;
      this.open.set(p, (this.open.get(p) ?? 0) + 1);
      this.peakOpen.set(p, Math.max(this.peakOpen.get(p) ?? 0, this.open.get(p)!));
      res.on('close', () => this.open.set(p, this.open.get(p)! - 1));
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const r: Received = {
          method: req.method!,
          path: req.url!,
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
          at: Date.now(),
        };
        this.received.push(r);
        const answer = this.respond(r, this.received.length) ?? {};
        const finish = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status ?? 200, answer.headers);
          res.end(answer.body ?? '');
        };
        if (answer.delayMs) setTimeout(finish, answer.delayMs);
        else finish();
        this.check();
      });
    });
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  private check() {
    this.waiters = this.waiters.filter((w) => {
      if (w.pred()) w.resolve();
      return !w.pred();
    });
  }

  /** Resolves when `pred` holds; rejects after `timeoutMs` with what was received so far. */
  waitFor(pred: (r: Received[]) => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
    if (pred(this.received)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`receiver: timed out waiting for ${what}; got ${this.received.length} requests`)),
        timeoutMs,
      );
      this.waiters.push({ pred: () => pred(this.received), resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  waitForCount(n: number, timeoutMs = 10_000) {
    return this.waitFor((r) => r.length >= n, timeoutMs, `${n} requests`);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}
