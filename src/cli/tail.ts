import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import type { LiveAttempt } from '../delivery/sql/readAttempts.js';
import { parseWhen, required } from './args.js';
import { openTarget } from './target.js';

// `herald tail --tenant T`: the tenant's delivery attempts as they are recorded, one line each
// (time, event type, endpoint, status, duration), until Ctrl-C. A lost connection is opened again
// from a minute back, and what was already printed is not printed twice.

const STATE: Record<string, string> = { I: 'retrying', S: '', F: 'failed' };

export function attemptLine(a: LiveAttempt): string {
  const status = a.statusCode === null ? `error: ${a.error ?? 'no answer'}` : String(a.statusCode);
  const state = a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300 ? '' : (STATE[a.deliveryStatus] ?? '');
  return `${a.startedAt}  ${a.eventType}  ${a.endpointId}  ${status}  ${a.durationMs} ms${state ? `  ${state}` : ''}`;
}

export async function tailCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { tenant: { type: 'string' }, since: { type: 'string' }, env: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const tenant = required(values.tenant, '--tenant', 'acme');
  let since = values.since === undefined ? undefined : parseWhen(values.since, '--since');
  const target = await openTarget(loadConfig(), values.env);
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  const printed = new Set<string>();
  process.stderr.write(`Following the deliveries of ${tenant} on ${target.where}; Ctrl-C stops.\n`);
  try {
    while (!controller.signal.aborted) {
      const end = await target.follow(
        tenant,
        since,
        (a) => {
          if (printed.has(a.id)) return;
          if (printed.size >= 10_000) printed.clear();
          printed.add(a.id);
          process.stdout.write((values.json ? JSON.stringify(a) : attemptLine(a)) + '\n');
        },
        controller.signal,
      );
      if (end === 'stopped') break;
      process.stderr.write(`herald: connection to ${target.where} lost (${end.lost}); connecting again in 2 s\n`);
      await new Promise((r) => setTimeout(r, 2000));
      since = Date.now() - 60_000;
    }
  } finally {
    await target.close();
  }
  // Ctrl-C: the stream is closed; exit without waiting for idle HTTP connections to time out.
  process.exit(0);
}
