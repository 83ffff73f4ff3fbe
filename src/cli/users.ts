import { parseArgs } from 'node:util';
import {
  clearMfa,
  createUserToEnrol,
  disableUser,
  enableUser,
  listUsers,
  resetMfa,
  createUser,
  type SecondFactor,
  type User,
  type UserRole,
} from '../accounts/users.js';
import { totpQrTerminal } from '../accounts/totp.js';
import { loadConfig } from '../config.js';
import type { Db } from '../db/db.js';
import { migrate } from '../db/migrate.js';
import { openDb } from '../db/open.js';
import { HeraldError } from '../errors.js';
import { ENVIRONMENTS, getEnvironment } from '../keys/environments.js';
import type { EnvironmentName } from '../keys/keys.js';
import { openSecretBox } from '../secrets/openSecretBox.js';
import type { SecretBox } from '../secrets/secretBox.js';
import { findTenantId } from '../tenants/tenants.js';

// `herald users …`: people who log in (docs/accounts.md). Works against the same database while a
// server runs, like `herald keys`. What a command changes is written to the audit log with the
// actor "cli".

export const USERS_USAGE = `herald users — people who log in (see docs/accounts.md)

  herald users create --email EMAIL --role operator|tenant [--tenant ID_OR_UID] [--env sandbox|production]
                      --password-stdin [--enrol-at-first-login] [--json]
                               create a user; prints its TOTP secret, otpauth:// URI and ten
                               recovery codes (shown once). The password is the first line of stdin.
                               --env limits an operator to one environment (default: both); for a
                               tenant user it says where to find --tenant when its uid is in both.
                               --enrol-at-first-login: no second factor now; the user scans a QR
                               code at its first login and gets its recovery codes then
  herald users list [--env sandbox|production] [--json]
  herald users disable ID_OR_EMAIL [--json]      refuse its logins and end its sessions
  herald users enable ID_OR_EMAIL [--json]
  herald users reset-mfa ID_OR_EMAIL [--enrol-at-first-login] [--json]
                               new TOTP secret and recovery codes; ends its sessions. With
                               --enrol-at-first-login, no new secret: the user enrols at its next login`;

class UsersUsageError extends Error {}

const ACTOR = { actor: 'cli' };

async function withDb<T>(fn: (db: Db, box: () => Promise<SecretBox>) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const db = openDb(config);
  try {
    // Migrated, but the environments are not created here: their first start prints their secret
    // keys, once, and a CLI run before it would create them with nobody to see those keys.
    await migrate(db);
    const box = () => openSecretBox(db, config);
    return await fn(db, box);
  } finally {
    await db.close();
  }
}

function environmentArg(env: string | undefined): EnvironmentName | undefined {
  if (env === undefined) return undefined;
  if (!ENVIRONMENTS.includes(env as EnvironmentName)) throw new UsersUsageError('--env must be sandbox or production');
  return env as EnvironmentName;
}

/**
 * The first line of standard input, without its line ending (a password piped with `echo` or
 * typed ends with one that is not part of it). Reading stops at the first newline.
 */
async function readLine(stream: NodeJS.ReadableStream): Promise<string> {
  let buf = '';
  for await (const chunk of stream) {
    buf += chunk.toString();
    const nl = buf.indexOf('\n');
    if (nl >= 0) {
      buf = buf.slice(0, nl);
      break;
    }
  }
  return buf.endsWith('\r') ? buf.slice(0, -1) : buf;
}

async function resolveTenant(db: Db, idOrUid: string, env: EnvironmentName | undefined): Promise<string> {
  const found: { env: string; id: string }[] = [];
  for (const name of env ? [env] : ENVIRONMENTS) {
    const e = await getEnvironment(db, name);
    const id = e && (await findTenantId(db, e.id, idOrUid));
    if (id) found.push({ env: name, id });
  }
  if (found.length === 0) throw new UsersUsageError(`tenant "${idOrUid}" was not found in ${env ?? 'sandbox or production'}`);
  if (found.length > 1)
    throw new UsersUsageError(`tenant "${idOrUid}" is a uid in both environments: add --env sandbox or --env production`);
  return found[0].id;
}

const describe = (u: User) =>
  `${u.id}  ${u.email}  ${u.role}${u.tenantId ? ` of ${u.tenantId}` : ''}  ${u.environment ?? 'every environment'}  ${u.status}`;

function printToEnrol(user: User, json: boolean): void {
  process.stdout.write(
    json
      ? JSON.stringify({ id: user.id, email: user.email, role: user.role, enrolAtFirstLogin: true }) + '\n'
      : `${describe(user)}\n\nNo second factor yet: at the first login with this password, the user scans a QR code into an\nauthenticator app and receives its recovery codes.\n`,
  );
}

async function printSecondFactor(out: { user: User } & SecondFactor, json: boolean): Promise<void> {
  if (json) {
    const { user, totpSecret, otpauthUri, recoveryCodes } = out;
    process.stdout.write(JSON.stringify({ id: user.id, email: user.email, role: user.role, totpSecret, otpauthUri, recoveryCodes }) + '\n');
    return;
  }
  const lines = [
    describe(out.user),
    '',
    'Add this to an authenticator app (scan the code, or type the secret):',
    // The QR code is drawn with terminal colours: only for a terminal, not for a file or a pipe.
    ...(process.stdout.isTTY ? [await totpQrTerminal(out.otpauthUri)] : []),
    `  secret  ${out.totpSecret}`,
    `  uri     ${out.otpauthUri}`,
    '',
    'Recovery codes, each usable once instead of a code from the app. Shown only now: keep them safe.',
    ...out.recoveryCodes.map((c) => `  ${c}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

async function create(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      email: { type: 'string' },
      role: { type: 'string' },
      tenant: { type: 'string' },
      env: { type: 'string' },
      'password-stdin': { type: 'boolean', default: false },
      'enrol-at-first-login': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (!values.email) throw new UsersUsageError('--email is required');
  if (values.role !== 'operator' && values.role !== 'tenant') throw new UsersUsageError('--role must be operator or tenant');
  if (values.role === 'tenant' && !values.tenant) throw new UsersUsageError('a tenant user needs --tenant ID_OR_UID');
  if (values.role === 'operator' && values.tenant)
    throw new UsersUsageError('an operator user reaches every tenant: leave out --tenant, or use --role tenant');
  // A password on the command line would sit in the shell history and the process list.
  if (!values['password-stdin'])
    throw new UsersUsageError(
      'give the password on standard input with --password-stdin, e.g. `printf %s "$PASSWORD" | herald users create … --password-stdin`',
    );
  const env = environmentArg(values.env);
  const password = await readLine(process.stdin);
  await withDb(async (db, box) => {
    const tenantId = values.tenant ? await resolveTenant(db, values.tenant, env) : null;
    const input = { email: values.email!, role: values.role as UserRole, tenantId, environmentId: env ?? null, password };
    if (values['enrol-at-first-login']) return printToEnrol((await createUserToEnrol(db, input, ACTOR)).user, values.json);
    await printSecondFactor(await createUser(db, await box(), input, ACTOR), values.json);
  });
}

async function list(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { env: { type: 'string' }, json: { type: 'boolean', default: false } },
    strict: true,
  });
  const env = environmentArg(values.env);
  await withDb(async (db) => {
    const users: User[] = [];
    let after: string | undefined;
    do {
      const page = await listUsers(db, { environmentId: env, limit: 1000, after });
      users.push(...page.data);
      after = page.nextCursor ?? undefined;
    } while (after);
    process.stdout.write(
      values.json
        ? JSON.stringify(users) + '\n'
        : users.length
          ? users.map(describe).join('\n') + '\n'
          : 'no users yet: `herald users create` makes one\n',
    );
  });
}

async function change(argv: string[], what: 'disable' | 'enable' | 'reset-mfa'): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, 'enrol-at-first-login': { type: 'boolean', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsersUsageError(`herald users ${what} takes one user id or email`);
  if (values['enrol-at-first-login'] && what !== 'reset-mfa')
    throw new UsersUsageError(`--enrol-at-first-login goes with create or reset-mfa, not ${what}`);
  await withDb(async (db, box) => {
    if (what === 'reset-mfa' && values['enrol-at-first-login'])
      return printToEnrol((await clearMfa(db, positionals[0], ACTOR)).user, values.json);
    if (what === 'reset-mfa') return printSecondFactor(await resetMfa(db, await box(), positionals[0], ACTOR), values.json);
    const user = what === 'disable' ? await disableUser(db, positionals[0], ACTOR) : await enableUser(db, positionals[0], ACTOR);
    process.stdout.write(values.json ? JSON.stringify(user) + '\n' : describe(user) + '\n');
  });
}

/** `herald users <sub> …`. Usage mistakes exit 2; refusals (a short password, a taken email) exit 1. */
export async function usersCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'create') return await create(rest);
    if (sub === 'list') return await list(rest);
    if (sub === 'disable' || sub === 'enable' || sub === 'reset-mfa') return await change(rest, sub);
    if (!sub || sub === 'help' || sub === '--help' || sub === '-h') {
      process.stdout.write(USERS_USAGE + '\n');
      return;
    }
    throw new UsersUsageError(`unknown command "herald users ${argv.join(' ')}"`);
  } catch (err) {
    if (err instanceof UsersUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`herald: ${(err as Error).message}\n\n${USERS_USAGE}\n`);
      process.exit(2);
    }
    if (err instanceof HeraldError) {
      process.stderr.write(`herald: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
