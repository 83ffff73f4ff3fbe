import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import type { Recovery } from '../delivery/sql/recoverDeliveries.js';
import { parseWhen, required } from './args.js';
import { openTarget } from './target.js';

// `herald recover --tenant T --endpoint E --since …`: sends again what failed, and makes due now
// what waits for a retry, for one endpoint between two times (POST …/endpoints/:id/recover), and
// shows the recovery's progress until it is done: a bar on a terminal, a line per change otherwise.

const BAR = 30;

function bar(r: Recovery): string {
  const part = r.total === 0 ? 1 : r.done / r.total;
  const filled = Math.round(part * BAR);
  return `[${'#'.repeat(filled)}${'-'.repeat(BAR - filled)}] ${r.done}/${r.total} (${Math.floor(part * 100)}%)`;
}

export async function recoverCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      endpoint: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      env: { type: 'string' },
    },
    strict: true,
  });
  const tenant = required(values.tenant, '--tenant', 'acme');
  const endpoint = required(values.endpoint, '--endpoint', 'ep_…');
  const since = parseWhen(required(values.since, '--since', '2h'), '--since');
  const until = values.until === undefined ? undefined : parseWhen(values.until, '--until');
  const tty = process.stdout.isTTY === true;
  const out = process.stdout;
  const target = await openTarget(loadConfig(), values.env);
  try {
    let r = await target.startRecovery(tenant, endpoint, since, until);
    out.write(
      `Recovery ${r.id} of ${r.endpointId}, ${r.since} to ${r.until}: ${r.total} deliveries (${r.failed} failed, sent again; ${r.waiting} waiting for a retry, due now)\n`,
    );
    let shown = -1;
    while (r.status !== 'done') {
      if (r.done !== shown) {
        out.write(tty ? `\r${bar(r)}` : `${bar(r)}\n`);
        shown = r.done;
      }
      await new Promise((res) => setTimeout(res, 500));
      r = await target.recovery(tenant, r.id);
    }
    out.write(tty ? `\r${bar(r)}\n` : `${bar(r)}\n`);
    out.write(`Done: ${r.done} deliveries set to go again; \`herald tail --tenant ${tenant}\` shows them being sent.\n`);
  } finally {
    await target.close();
  }
}
