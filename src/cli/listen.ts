import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import type { DeliveryMessage, RecordedAnswer } from '../delivery/listenerFeed.js';
import { createAgent, send } from '../delivery/send.js';
import type { BodyFormat } from '../endpoints/endpoints.js';
import { required, splitList } from './args.js';
import { UsageError } from './errors.js';
import { openTarget } from './target.js';

// `herald listen`: a temporary endpoint whose deliveries come to this process over one connection
// and are posted to a local URL, with exactly the headers and body an http endpoint gets; each
// answer is reported back and recorded as the attempt (endpoints/listeners.ts,
// delivery/listenerFeed.ts). Ctrl-C removes the endpoint; a listener that vanishes without it
// leaves one that expires on its own (HERALD_LISTEN_EXPIRY).

const FORMATS: BodyFormat[] = ['standard', 'productfy', 'original', 'cloudevents'];

function forwardUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--forward-to must be an absolute http(s) URL like http://localhost:3000/webhooks; got "${raw}"`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw new UsageError(`--forward-to must be an http or https URL like http://localhost:3000/webhooks; got "${raw}"`);
  }
  return u.toString();
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/** What the delivery became, after the answer: nothing more to say for a success. */
function afterwards(r: RecordedAnswer): string {
  if (r.status === 'I') return r.nextAttemptAt ? `  retry at ${r.nextAttemptAt}` : '  retrying';
  if (r.status === 'F') return '  failed for good';
  return '';
}

export async function listenCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      'forward-to': { type: 'string' },
      events: { type: 'string' },
      format: { type: 'string' },
      env: { type: 'string' },
    },
    strict: true,
  });
  const tenant = required(values.tenant, '--tenant', 'acme');
  const forwardTo = forwardUrl(required(values['forward-to'], '--forward-to', 'http://localhost:3000/webhooks'));
  const eventTypes = splitList(values.events);
  const format = values.format as BodyFormat | undefined;
  if (format !== undefined && !FORMATS.includes(format))
    throw new UsageError(`--format must be one of ${FORMATS.join(', ')}; got "${format}"`);

  const target = await openTarget(loadConfig(), values.env);
  const listener = await target.createListener(tenant, { forwardTo, eventTypes, format }).catch(async (err: unknown) => {
    await target.close().catch(() => undefined);
    throw err;
  });

  const out = process.stdout;
  const controller = new AbortController();
  let stopping = false;
  const stop = () => {
    // A second Ctrl-C does not wait for the endpoint's removal.
    if (stopping) process.exit(130);
    stopping = true;
    controller.abort();
    void (async () => {
      try {
        await target.deleteListener(tenant, listener.id);
        out.write(`Stopped: endpoint ${listener.id} removed.\n`);
      } catch (err) {
        process.stderr.write(
          `herald: could not remove endpoint ${listener.id} (${(err as Error).message}); it expires on its own after HERALD_LISTEN_EXPIRY (10 minutes by default)\n`,
        );
      }
      await target.close().catch(() => undefined);
      process.exit(0);
    })();
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);

  const agent = createAgent();
  let timeoutMs = 15_000;
  let connected = false;

  /** Posts one delivery to the local URL, reports the answer, prints its line. */
  const forward = async (m: DeliveryMessage) => {
    const startedAt = new Date();
    const r = await send(agent, forwardTo, m.headers, Buffer.from(m.body, 'base64'), timeoutMs);
    let note: string;
    try {
      const recorded = await target.answer(tenant, listener.id, {
        deliveryId: m.deliveryId,
        leaseToken: m.leaseToken,
        statusCode: r.statusCode,
        durationMs: r.durationMs,
        // Postgres cannot store a NUL in text; the log shows U+FFFD instead.
        responseBody: r.responseBody === null ? null : r.responseBody.replaceAll('\u0000', '\uFFFD'),
        error: r.error === null ? null : r.error.slice(0, 1000),
        retryAfterMs: r.retryAfterMs,
      });
      note = afterwards(recorded);
    } catch (err) {
      note = `  not recorded (${(err as Error).message}); Herald offers it again when its lease ends`;
    }
    const status = r.statusCode === null ? `error: ${r.error}` : String(r.statusCode);
    const attempt = m.attempt > 1 ? `  attempt ${m.attempt}` : '';
    out.write(`${startedAt.toISOString()}  ${m.eventType}  ${status}  ${r.durationMs} ms  ${m.eventId}${attempt}${note}\n`);
  };

  let backoff = 1000;
  while (!controller.signal.aborted) {
    const end = await target.listen(
      tenant,
      listener.id,
      async (m) => {
        if (m.type === 'ready') {
          timeoutMs = m.timeoutMs;
          backoff = 1000;
          if (connected) {
            out.write('Connected again.\n');
            return;
          }
          connected = true;
          const types = listener.eventTypes.length ? listener.eventTypes.join(', ') : 'all types';
          out.write(
            `Ready! Endpoint ${listener.id} forwards to ${forwardTo}; signing secret ${listener.secret}\n` +
              `  tenant ${tenant}, events: ${types}, format ${listener.format}, through ${target.where}. Ctrl-C stops and removes the endpoint.\n`,
          );
        } else if (m.type === 'delivery') {
          // Side by side: the stream goes on while the local URL answers (Herald hands over at most 10 at once).
          forward(m).catch((err: unknown) =>
            process.stderr.write(`herald: forwarding ${m.deliveryId} failed: ${(err as Error).message}\n`),
          );
        }
      },
      controller.signal,
    );
    if (end === 'stopped') break;
    if (end === 'gone') {
      process.stderr.write(
        `herald: endpoint ${listener.id} is gone (deleted, or expired while this listener could not reach Herald); start herald listen again\n`,
      );
      await target.close().catch(() => undefined);
      process.exit(1);
    }
    process.stderr.write(`herald: connection to ${target.where} lost (${end.lost}); connecting again in ${backoff / 1000} s\n`);
    await sleep(backoff, controller.signal);
    backoff = Math.min(backoff * 2, 10_000);
  }
  // Ctrl-C ended the loop: stop() removes the endpoint and exits the process.
  await new Promise(() => undefined);
}
