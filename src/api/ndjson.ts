import type { FastifyReply, FastifyRequest } from 'fastify';

/** Writes one message as a line; rejects once the connection is gone. */
export type Emit<M> = (message: M) => Promise<void>;

/**
 * Long-lived answers of one JSON object per line (`application/x-ndjson`): a listener's connection
 * and the live delivery log. NDJSON rather than server-sent events: any HTTP client reads it line
 * by line, and the messages are JSON anyway. Each stream runs until its client goes away, its
 * `run` returns, or the server closes (closeAll, from the plugin's preClose hook: a graceful stop
 * must not wait for connections that never end on their own).
 */
export class NdjsonStreams {
  private readonly open = new Set<AbortController>();

  /** Ends every open stream; their clients see the answer end and reconnect. */
  closeAll(): void {
    for (const c of this.open) c.abort();
  }

  /**
   * Answers 200 and runs `run` with the stream. Checks that can refuse the request must come
   * before: once this starts, the status is sent. A failure inside `run` is written as a last
   * `{"type":"error"}` line, so the client can say what happened.
   */
  async serve<M>(req: FastifyRequest, reply: FastifyReply, run: (emit: Emit<M>, signal: AbortSignal) => Promise<unknown>): Promise<void> {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'application/x-ndjson; charset=utf-8',
      'cache-control': 'no-store',
      // Proxies that buffer answers (nginx) would hold the lines back.
      'x-accel-buffering': 'no',
      'x-request-id': req.id,
    });
    const controller = new AbortController();
    this.open.add(controller);
    const onClose = () => controller.abort();
    res.on('close', onClose);
    const emit: Emit<M> = (message) =>
      new Promise((resolve, reject) => {
        if (controller.signal.aborted || res.destroyed || res.writableEnded) return reject(new Error('the stream is closed'));
        if (res.write(JSON.stringify(message) + '\n')) return resolve();
        // The client reads slowly: wait until it took what was written.
        const done = () => (res.off('drain', done), res.off('close', done), resolve());
        res.on('drain', done);
        res.on('close', done);
      });
    try {
      await run(emit, controller.signal);
    } catch (err) {
      if (!controller.signal.aborted && !res.destroyed) {
        req.log.error({ err }, 'a stream failed; its client will connect again');
        res.write(JSON.stringify({ type: 'error', message: 'Herald could not continue this stream; connect again' }) + '\n');
      }
    } finally {
      this.open.delete(controller);
      res.off('close', onClose);
      if (!res.destroyed) res.end();
    }
  }
}
