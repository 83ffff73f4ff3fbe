import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { ConfigError, loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { openDb } from '../db/open.js';
import { bootstrapEnvironments, ENVIRONMENTS, getEnvironment } from '../keys/environments.js';
import { createKey, type EnvironmentName } from '../keys/keys.js';
import { createLogger } from '../log.js';
import { findTenantId } from '../tenants/tenants.js';
import { SecretKeyError } from '../secrets/secretBox.js';
import { createHerald } from '../herald.js';
import { usersCommand } from './users.js';

const USAGE = `herald — self-hostable webhooks

  herald start                 run the API and the delivery workers (HERALD_ROLES splits them)
  herald migrate               apply database migrations and exit
  herald keys create --env sandbox|production [--tenant ID_OR_UID] [--name NAME] [--json]
                               create a secret key (shown once)

Configuration is read from environment variables: see docs/configuration.md.`;

class UsageError extends Error {}

/**
 * A server's heap: by default V8 lets the old generation grow to several times what is alive
 * before collecting it (Herald keeps 45–70 MB alive under load and V8 let its heap reach ~195 MB).
 * Growing it by at most 2× after each full collection keeps the process near 200 MB at no
 * measurable cost in throughput (`npm run bench`, memory column). This flag is read at every
 * collection, so it can be set here; a value given on the node command line wins.
 */
function boundHeapGrowth(): void {
  if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) v8.setFlagsFromString('--heap-growing-percent=100');
}

async function start(): Promise<void> {
  boundHeapGrowth();
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const herald = await createHerald(config, log);
  const lines = [`Herald is running on ${config.publicUrl} (database: ${herald.db.dialect} ${herald.db.where})`];
  if (herald.firstStartKeys.length) {
    lines.push('', 'First start: environments created. These secret keys are shown once; keep them safe:');
    for (const k of herald.firstStartKeys) lines.push(`  ${k.environment.padEnd(10)} ${k.key}`);
  }
  lines.push('', `  API reference   ${config.publicUrl}/docs`, `  OpenAPI         ${config.publicUrl}/openapi.json`, `  Health          ${config.publicUrl}/v1/health`, '');
  process.stdout.write(lines.join('\n') + '\n');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping: no new work is claimed; in-flight deliveries finish or are handed back');
    const force = setTimeout(() => process.exit(1), config.deliveryTimeoutMs + 10_000).unref();
    await herald.stop();
    clearTimeout(force);
    log.info('stopped');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

async function migrateCmd(): Promise<void> {
  const config = loadConfig();
  const db = openDb(config);
  try {
    const applied = await migrate(db);
    process.stdout.write(applied.length ? `applied: ${applied.join(', ')}\n` : 'database is up to date\n');
  } finally {
    await db.close();
  }
}

async function keysCreate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { env: { type: 'string' }, tenant: { type: 'string' }, name: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  if (!values.env || !ENVIRONMENTS.includes(values.env as EnvironmentName)) {
    throw new UsageError('--env must be sandbox or production');
  }
  const config = loadConfig();
  const db = openDb(config);
  try {
    await migrate(db);
    await bootstrapEnvironments(db);
    const env = (await getEnvironment(db, values.env))!;
    let tenantId: string | null = null;
    if (values.tenant) {
      tenantId = (await findTenantId(db, env.id, values.tenant)) ?? null;
      if (!tenantId) throw new UsageError(`tenant "${values.tenant}" was not found in the ${env.name} environment`);
    }
    const { key } = await createKey(db, { environmentId: env.id, environment: env.name, tenantId, name: values.name });
    process.stdout.write(values.json ? JSON.stringify({ key }) + '\n' : `${key}\n(shown once; Herald keeps only its hash)\n`);
  } finally {
    await db.close();
  }
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, sub, ...rest] = argv;
  try {
    if (cmd === 'start') return await start();
    if (cmd === 'migrate') return await migrateCmd();
    if (cmd === 'keys' && sub === 'create') return await keysCreate(rest);
    if (cmd === 'users') return await usersCommand(argv.slice(1));
    if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      process.stdout.write(USAGE + '\n');
      return;
    }
    throw new UsageError(`unknown command "${argv.join(' ')}"`);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError || err instanceof SecretKeyError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`herald: ${(err as Error).message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    throw err;
  }
}
