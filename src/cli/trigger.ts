import { parseArgs } from 'node:util';
import { loadConfig } from '../config.js';
import { required } from './args.js';
import { UsageError } from './errors.js';
import { openTarget } from './target.js';

// `herald trigger TYPE --tenant T`: sends the event type's example payload (or --payload) as an
// event of the tenant, to every endpoint subscribed to it, like POST /v1/tenants/:tenant/events.

export async function triggerCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      payload: { type: 'string' },
      env: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('trigger takes one event type, e.g. herald trigger payment.succeeded --tenant acme');
  const [type] = positionals;
  const tenant = required(values.tenant, '--tenant', 'acme');
  if (values.payload !== undefined) {
    try {
      JSON.parse(values.payload);
    } catch (err) {
      throw new UsageError(`--payload must be JSON (e.g. --payload '{"amount":100}'): ${(err as Error).message}`);
    }
  }
  const target = await openTarget(loadConfig(), values.env);
  try {
    const event = await target.trigger(tenant, type, values.payload);
    if (values.json) {
      process.stdout.write(JSON.stringify(event) + '\n');
      return;
    }
    const where =
      event.status === 'N'
        ? 'no endpoint of this tenant subscribes to it: no deliveries'
        : `follow its deliveries with \`herald tail --tenant ${tenant}\``;
    process.stdout.write(`Sent ${event.type} as event ${event.id} (${where}).\n  ${target.eventLink(tenant, event.id)}\n`);
  } finally {
    await target.close();
  }
}
