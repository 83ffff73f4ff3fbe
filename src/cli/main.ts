import net from 'node:net';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { type Config, ConfigError, loadConfig } from '../config.js';
import { migrate } from '../db/migrate.js';
import { openDb } from '../db/open.js';
import type { Db } from '../db/db.js';
import { HeraldError } from '../errors.js';
import { bootstrapEnvironments } from '../keys/environments.js';
import { issueKey, type KeyInfo, listKeys, parseEnvironment, revokeKey } from '../keys/keys.js';
import { createLogger } from '../log.js';
import { SecretKeyError } from '../secrets/secretBox.js';
import { createHerald } from '../herald.js';
import { describeStartupError } from './startupErrors.js';
import { CliError, UsageError } from './errors.js';
import { listenCommand } from './listen.js';
import { recoverCommand } from './recover.js';
import { tailCommand } from './tail.js';
import { triggerCommand } from './trigger.js';
import { usersCommand } from './users.js';
import { writeAudit } from '../accounts/audit.js';

const USAGE = `herald — self-hostable webhooks

  herald start                 run the API and the delivery workers (HERALD_ROLES splits them)
  herald migrate               apply database migrations and exit
  herald keys create --env sandbox|production [--tenant ID_OR_UID] [--kind secret|public]
                     [--allowed-origin ORIGIN]… [--expires-in SECONDS] [--name NAME] [--json]
                               create a key (shown once); public keys need an allowed origin
  herald keys list [--env sandbox|production] [--json]
                               list keys (never the keys themselves)
  herald keys revoke KEY_ID    revoke a key: 401 at once here, within 5 s on running servers
  herald users create|list|disable|enable|reset-mfa …
                               people who log in, with their second factor (herald users help)

  herald listen --tenant T --forward-to URL [--events A,B] [--format F]
                               a temporary endpoint whose deliveries are posted to URL (a local
                               server, no public address needed); Ctrl-C removes it
  herald trigger TYPE --tenant T [--payload JSON] [--json]
                               send the type's example payload as an event of T
  herald tail --tenant T [--since 10m] [--json]
                               T's delivery attempts as they happen
  herald recover --tenant T --endpoint ID --since 2h [--until TIME]
                               send again what failed or waits for a retry, with a progress bar

  listen, trigger, tail and recover call a running Herald when HERALD_URL and HERALD_KEY are set,
  else they work on the local database (add --env sandbox|production when a uid is in both).
  See docs/cli.md.

Configuration is read from environment variables: see docs/configuration.md.`;

/**
 * A server's heap: by default V8 lets the old generation grow to several times what is alive
 * before collecting it (Herald keeps 45–70 MB alive under load and V8 let its heap reach ~195 MB).
 * Growing it by at most 1.5× after each full collection keeps the process under 200 MB with a
 * million deliveries waiting; the extra full collections mark concurrently, on another core, and
 * cost no measurable throughput (`npm run bench`: 2× gave 203–205 MB, 1.5× 185–187 MB, deliveries
 * the same within the noise). This flag is read at every collection, so it can be set here; a
 * value given on the node command line wins.
 */
function boundHeapGrowth(): void {
  if (!process.execArgv.some((a) => a.startsWith('--heap-growing-percent'))) v8.setFlagsFromString('--heap-growing-percent=50');
}

/**
 * Fails fast, before the database is touched, when the API's port is taken: otherwise a first
 * start would mint the environments' keys and then exit without printing them.
 */
async function assertPortFree(config: Config): Promise<void> {
  if (!config.roles.api || config.port === 0) return;
  await new Promise<void>((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen({ port: config.port, host: config.host, exclusive: true }, () => probe.close(() => resolve()));
  });
}

function firstStartLines(keys: { environment: string; key: string }[]): string[] {
  if (!keys.length) return [];
  return [
    '',
    'First start: environments created. These secret keys are shown once; keep them safe:',
    ...keys.map((k) => `  ${k.environment.padEnd(10)} ${k.key}`),
  ];
}

function printFirstStartKeys(keys: { environment: string; key: string }[], out: NodeJS.WritableStream): void {
  if (keys.length) out.write(firstStartLines(keys).join('\n') + '\n\n');
}

async function start(): Promise<void> {
  boundHeapGrowth();
  const config = loadConfig();
  await assertPortFree(config);
  const log = createLogger(config.logLevel);
  const herald = await createHerald(config, log);
  const lines = [`Herald is running on ${config.publicUrl} (database: ${herald.db.dialect} ${herald.db.where})`];
  lines.push(...firstStartLines(herald.firstStartKeys));
  lines.push(
    '',
    `  Portal          ${config.publicUrl}/portal/`,
    `  API reference   ${config.publicUrl}/docs`,
    `  OpenAPI         ${config.publicUrl}/openapi.json`,
    `  GraphQL         ${config.publicUrl}/graphql/api/public (logIn), ${config.publicUrl}/graphql/api/authenticated`,
    `  Health          ${config.publicUrl}/v1/health, ${config.publicUrl}/v1/ready`,
    `  Metrics         ${config.publicUrl}/metrics (Prometheus; an operator secret key)`,
    '',
  );
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

/** Opens the database for a CLI command (migrated, environments made), runs `fn`, closes it. */
async function withDb<T>(config: Config, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = openDb(config);
  try {
    await migrate(db);
    // On a database no server has started yet, this command makes the environments and their
    // operator keys: print those here (on stderr, so --json output stays one object), or the
    // next `herald start` would find the environments made and nobody would ever see the keys.
    printFirstStartKeys(await bootstrapEnvironments(db), process.stderr);
    return await fn(db);
  } finally {
    await db.close();
  }
}

function parseExpiresIn(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  // Whole seconds only: "-5", "1.5" or "1h" are refused rather than read as something else.
  if (!/^\d+$/.test(raw) || Number(raw) < 1)
    throw new UsageError(`--expires-in must be a positive whole number of seconds (e.g. 86400 for a day); got "${raw}"`);
  return Number(raw);
}

async function keysCreate(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      env: { type: 'string' },
      tenant: { type: 'string' },
      name: { type: 'string' },
      kind: { type: 'string' },
      'allowed-origin': { type: 'string', multiple: true },
      'expires-in': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.env) throw new UsageError('--env must be sandbox or production');
  // Checked before the database is opened: a typo costs nothing.
  if (values.env !== 'sandbox' && values.env !== 'production')
    throw new UsageError(`--env must be sandbox or production; got "${values.env}"`);
  const expiresInSeconds = parseExpiresIn(values['expires-in']);
  const made = await withDb(loadConfig(), async (db) => {
    const m = await issueKey(db, {
      environment: values.env!,
      tenant: values.tenant,
      name: values.name,
      kind: values.kind,
      allowedOrigins: values['allowed-origin'],
      expiresInSeconds,
    });
    await writeAudit(db, {
      environmentId: m.info.environment,
      actor: 'cli',
      action: 'key.created',
      target: m.id,
      details: { kind: m.info.kind, tenant: m.info.tenant, expiresAt: m.info.expiresAt },
    });
    return m;
  });
  if (values.json) {
    process.stdout.write(JSON.stringify({ id: made.id, key: made.key }) + '\n');
  } else {
    const expires = made.info.expiresAt ? `, expires ${made.info.expiresAt}` : '';
    process.stdout.write(`${made.key}\n(${made.id}${expires}; shown once: Herald keeps only its hash)\n`);
  }
}

async function keysList(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { env: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  if (values.env !== undefined) parseEnvironment(values.env);
  const keys = await withDb(loadConfig(), async (db) => {
    const envId =
      values.env === undefined
        ? undefined
        : (await db.one<{ id: string }>('SELECT id FROM environments WHERE name = $1', [values.env]))!.id;
    const all: KeyInfo[] = [];
    for (let cursor: string | undefined; ;) {
      const page = await listKeys(db, { environmentId: envId, limit: 250, cursor });
      all.push(...page.data);
      if (!page.nextCursor) return all;
      cursor = page.nextCursor;
    }
  });
  if (values.json) {
    process.stdout.write(JSON.stringify(keys) + '\n');
    return;
  }
  const now = Date.now();
  const status = (k: KeyInfo) => (k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) <= now ? 'expired' : 'active');
  const rows = [
    ['ID', 'KIND', 'PREFIX', 'ENV', 'TENANT', 'STATUS', 'CREATED', 'LAST USED', 'EXPIRES'],
    ...keys.map((k) => [
      k.id,
      k.kind,
      `${k.prefix}…`,
      k.environment,
      k.tenantUid ?? '-',
      status(k),
      k.createdAt,
      k.lastUsedAt ?? 'never',
      k.expiresAt ?? 'never',
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write(
    rows
      .map((r) =>
        r
          .map((c, i) => c.padEnd(widths[i]))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n',
  );
}

async function keysRevoke(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError('keys revoke takes one key id (key_…); `herald keys list` shows them');
  const id = positionals[0];
  const info = await withDb(loadConfig(), async (db) => {
    const revoked = await revokeKey(db, id);
    if (revoked) await writeAudit(db, { environmentId: revoked.environment, actor: 'cli', action: 'key.revoked', target: revoked.id });
    return revoked;
  });
  if (!info) throw new HeraldError('not_found', `key "${id}" was not found; \`herald keys list\` shows the keys`);
  if (values.json) process.stdout.write(JSON.stringify({ id: info.id, revokedAt: info.revokedAt }) + '\n');
  else process.stdout.write(`revoked ${info.id} (${info.prefix}…) at ${info.revokedAt}; running servers refuse it within 5 s\n`);
}

export async function main(argv: string[]): Promise<void> {
  const [cmd, sub, ...rest] = argv;
  try {
    if (cmd === 'start') return await start();
    if (cmd === 'migrate') return await migrateCmd();
    if (cmd === 'keys' && sub === 'create') return await keysCreate(rest);
    if (cmd === 'keys' && sub === 'list') return await keysList(rest);
    if (cmd === 'keys' && sub === 'revoke') return await keysRevoke(rest);
    if (cmd === 'users') return await usersCommand(argv.slice(1));
    if (cmd === 'listen') return await listenCommand(argv.slice(1));
    if (cmd === 'trigger') return await triggerCommand(argv.slice(1));
    if (cmd === 'tail') return await tailCommand(argv.slice(1));
    if (cmd === 'recover') return await recoverCommand(argv.slice(1));
    if (!cmd || cmd === 'help' || cmd === '--help' || cmd === '-h') {
      process.stdout.write(USAGE + '\n');
      return;
    }
    throw new UsageError(`unknown command "${argv.join(' ')}"`);
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`herald: ${(err as Error).message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    // Refusals that say what to fix: one line, no stack trace.
    if (err instanceof ConfigError || err instanceof SecretKeyError || err instanceof HeraldError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof CliError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exit(1);
    }
    let config: Config | undefined;
    try {
      config = loadConfig();
    } catch {
      // The configuration itself is what failed: the error below says so.
    }
    const line = config && describeStartupError(err, config);
    if (line) {
      process.stderr.write(`herald: ${line}\n`);
      process.exit(1);
    }
    throw err;
  }
}
