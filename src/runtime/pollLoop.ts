import type { Logger } from '../log.js';
import { Waker } from '../wake.js';

/**
 * - `idle`: built, not started; step() may still be called directly (tests do).
 * - `running`: rounds run one after another, with a pause when a round found nothing.
 * - `stopping`: stop() was called; the round in progress finishes, no other starts.
 * - `stopped`: no round runs any more.
 */
export type LoopState = 'idle' | 'running' | 'stopping' | 'stopped';

export interface PollLoopOptions {
  /** What a round does, for the log line of a failed one ("claiming due deliveries"). */
  what: string;
  /** The pause after a round that found nothing, unless wake() ends it sooner. */
  intervalMs: number;
  log: Logger;
  /**
   * After a round that found work, go again at once (a queue drains as fast as it can; the
   * default), or only after the interval (maintenance paces itself).
   */
  drain?: boolean;
  /** The longest pause after failed rounds in a row (default 10 s, never below the interval). */
  maxBackoffMs?: number;
  /**
   * After a round that found work and took `roundMs`, how long to rest before the next (0: none,
   * the default). Only stop() ends a rest early. A loop that must leave the event loop to others
   * under load (the inbound processor, to the requests it works for) paces itself with this.
   */
  restAfterWork?: (roundMs: number) => number;
}

/**
 * The one poll loop of a worker node: the delivery worker, the inbound processor and maintenance
 * each give it their `step` (one round: answers whether it found work) and it runs them until
 * stopped. Between rounds it sleeps the interval or until wake() (new work was announced). A round
 * that throws is logged and the next one waits longer each time (the interval, doubling, up to
 * `maxBackoffMs`): a database that is down is not asked again every few milliseconds, and a wake()
 * does not cut that pause short, since new work does not mean the database is back.
 */
export class PollLoop {
  private current: LoopState = 'idle';
  private readonly waker = new Waker();
  private done: Promise<void> = Promise.resolve();
  private failures = 0;

  constructor(
    private readonly step: () => Promise<boolean>,
    private readonly opts: PollLoopOptions,
  ) {}

  get state(): LoopState {
    return this.current;
  }

  /** True once stop() was called: the owner starts nothing new. */
  get stopping(): boolean {
    return this.current === 'stopping' || this.current === 'stopped';
  }

  start(): void {
    if (this.current !== 'idle') throw new Error(`a poll loop starts once; this one is ${this.current}`);
    this.current = 'running';
    this.done = this.run();
  }

  /** New work may be there: end the current pause and run a round now. */
  wake(): void {
    this.waker.wake();
  }

  /** Runs no further round; resolves when the round in progress (if any) has finished. */
  async stop(): Promise<void> {
    if (this.current === 'idle' || this.current === 'stopped') {
      this.current = 'stopped';
      return;
    }
    this.current = 'stopping';
    this.waker.wake();
    await this.done;
    this.current = 'stopped';
  }

  private async run(): Promise<void> {
    while (this.current === 'running') {
      let found: boolean;
      const started = performance.now();
      try {
        found = await this.step();
        this.failures = 0;
      } catch (err) {
        this.failures++;
        const pause = this.backoff();
        this.opts.log.error({ err, failures: this.failures, retryInMs: pause }, `${this.opts.what} failed; trying again in ${pause} ms`);
        await this.pause(pause);
        continue;
      }
      if (found && this.opts.drain !== false) {
        const rest = this.opts.restAfterWork?.(performance.now() - started) ?? 0;
        if (rest > 0) await this.pause(rest);
        continue;
      }
      if (this.current === 'running') await this.waker.sleep(this.opts.intervalMs);
    }
  }

  private backoff(): number {
    const max = Math.max(this.opts.intervalMs, this.opts.maxBackoffMs ?? 10_000);
    return Math.min(max, this.opts.intervalMs * 2 ** Math.min(this.failures - 1, 20));
  }

  /** Sleeps `ms` whatever wake() says; only stop() ends it early. */
  private async pause(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (this.current === 'running' && Date.now() < until) await this.waker.sleep(until - Date.now());
  }
}
