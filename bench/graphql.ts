// GraphQL figures for `npm run bench` (issue #10), on a running Herald:
//   - logIn: median and p99 ms of sequential logIns, each a different user with its current TOTP
//     code (a code works once per 30 s step per user, so one user cannot log in twice in a row).
//     logIn verifies an argon2id hash on purpose: this is the price of that hash.
//   - customers(search): authenticated queries/s at concurrency 16 over CUSTOMERS customers;
//   - report(bucket: DAY) over finished deliveries (with their attempts) seeded straight into the
//     tables, 100,000 and then 1,000,000 (BENCH_GRAPHQL_DELIVERIES): queries/s, p50 and p99 ms, one
//     query at a time. The report reads the rollups (src/reports/sql/rollups.ts), which rows
//     written straight into the tables do not update, so after each seeding the bench rebuilds the
//     tenant's rollups with the statements of migration 015's backfill (and prints how long that
//     took: what upgrading a database of that size costs).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Pool } from 'undici';
import { totpCode } from '../src/accounts/totp.js';
import type { Db } from '../src/db/db.js';
import { PostgresDb } from '../src/db/postgres.js';
import { SqliteDb } from '../src/db/sqlite.js';
import { rebuildTenantRollups } from '../src/reports/sql/rollups.js';
import { type BenchDb, seedFinishedDeliveries } from './scale.js';

const ROOT = path.resolve(import.meta.dirname, '..');
const LOGINS = Number(process.env.BENCH_GRAPHQL_LOGINS ?? 20);
const CUSTOMERS = Number(process.env.BENCH_GRAPHQL_CUSTOMERS ?? 2_000);
const SEARCHES = Number(process.env.BENCH_GRAPHQL_SEARCHES ?? 4_000);
/** Report sizes, in finished deliveries, ascending: each seeding adds to the one before. */
const REPORT_SIZES = (process.env.BENCH_GRAPHQL_DELIVERIES ?? '100000,1000000')
  .split(',')
  .map(Number)
  .filter((n) => n > 0)
  .sort((a, b) => a - b);
const REPORTS = Number(process.env.BENCH_GRAPHQL_REPORTS ?? 20);
const CONCURRENCY = 16;
const DAYS = 7;
const PASSWORD = 'bench passphrase, long enough';
const SURNAMES = [
  'Lima',
  'Okafor',
  'Nakamura',
  'Schmidt',
  'Rossi',
  'Dubois',
  'Kowalski',
  'Haddad',
  'Silva',
  'Novak',
  'Jensen',
  'Moreau',
  'Petrov',
  'Costa',
  'Mendes',
  'Fischer',
  'Bauer',
  'Tanaka',
  'Ivanova',
  'Garcia',
];

export const GRAPHQL_SETUP = `${LOGINS} sequential logIns; customers(search) at concurrency ${CONCURRENCY} over ${CUSTOMERS} customers; report(bucket: DAY) over ${REPORT_SIZES.join(' and ')} finished deliveries in ${DAYS} days, one at a time`;

export interface GraphqlFigures {
  logInP50Ms: number;
  logInP99Ms: number;
  searchPerSec: number;
  searchP50Ms: number;
  reports: ReportFigure[];
}

export interface ReportFigure {
  deliveries: number;
  perSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Seconds to rebuild the tenant's rollups from its rows (migration 015's backfill). */
  rebuildS: number;
}

/** The tenant's rollups rebuilt from its rows, through Herald's own module, on a connection of the bench's. */
async function rebuildRollups(db: BenchDb, tenantId: string): Promise<number> {
  const conn: Db = db.dialect === 'postgres' ? new PostgresDb(db.where, { max: 1 }) : new SqliteDb(db.where);
  const started = performance.now();
  try {
    await rebuildTenantRollups(conn, tenantId);
  } finally {
    await conn.close();
  }
  return (performance.now() - started) / 1000;
}

const LOG_IN = `mutation LogIn($input: LogInInput!) { logIn(input: $input) { login { sessions { sessionKey } } } }`;
const CREATE_USER = `mutation($input: CreateUserInput!) { createUser(input: $input) { user { email } totpSecret } }`;
const SEARCH = `query($s: String!) { customers(tenant: "gql", search: $s, first: 20) { nodes { id key name email } } }`;
const REPORT = `query($from: String!, $to: String!) { report(tenant: "gql", from: $from, to: $to, bucket: DAY) { buckets { start accepted delivered failed p50Ms p99Ms } totals { accepted delivered failed p50Ms p99Ms } } }`;

const quantile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];

/** `herald users create … --json` against the bench's database: the first user, as an operator would make it. */
function cliCreateUser(env: NodeJS.ProcessEnv, email: string): Promise<{ totpSecret: string }> {
  return new Promise((resolve, reject) => {
    const proc = spawn(
      process.execPath,
      [path.join(ROOT, 'bin/herald'), 'users', 'create', '--email', email, '--role', 'operator', '--password-stdin', '--json'],
      { env, stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    proc.stdout.on('data', (c) => (out += c));
    proc.stderr.on('data', (c) => (err += c));
    proc.on('exit', (code) =>
      code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`herald users create exited with ${code}: ${err}`)),
    );
    proc.stdin.end(PASSWORD + '\n');
  });
}

export async function graphqlFigures(
  base: string,
  api: (method: string, p: string, body?: unknown) => Promise<any>,
  db: BenchDb,
  env: NodeJS.ProcessEnv,
  endpointUrl: string,
): Promise<GraphqlFigures> {
  const pool = new Pool(base, { connections: CONCURRENCY, pipelining: 1 });
  const post = async (which: 'public' | 'authenticated', body: unknown) => {
    const r = await pool.request({
      method: 'POST',
      path: `/graphql/api/${which}`,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await r.body.json()) as any;
    if (r.statusCode !== 200 || json.errors)
      throw new Error(`GraphQL ${which} answered ${r.statusCode}: ${JSON.stringify(json).slice(0, 500)}`);
    return json.data;
  };
  const logIn = async (username: string, secret: string) => {
    const data = await post('public', {
      query: LOG_IN,
      variables: {
        input: { username, password: PASSWORD, totpCode: totpCode(secret, Math.floor(Date.now() / 1000)), environment: 'SANDBOX' },
      },
    });
    return data.logIn.login.sessions[0].sessionKey as string;
  };
  try {
    // The operator who makes the others, made with the CLI; the others with createUser (same path).
    const first = { email: 'op0@bench.example.com', ...(await cliCreateUser(env, 'op0@bench.example.com')) };
    const session = await logIn(first.email, first.totpSecret);
    const authed = (query: string, variables: Record<string, unknown>) =>
      post('authenticated', { query, variables, extensions: { sessionKey: session } });
    const users: { email: string; totpSecret: string }[] = [];
    for (let i = 1; i <= LOGINS; i++) {
      const made = await authed(CREATE_USER, { input: { email: `op${i}@bench.example.com`, role: 'OPERATOR', password: PASSWORD } });
      users.push({ email: made.createUser.user.email, totpSecret: made.createUser.totpSecret });
    }
    const logIns: number[] = [];
    for (const u of users) {
      const started = performance.now();
      await logIn(u.email, u.totpSecret);
      logIns.push(performance.now() - started);
    }
    logIns.sort((a, b) => a - b);

    // Customers, through REST at the same concurrency.
    const tenant = await api('POST', '/v1/tenants', { name: 'GraphQL', uid: 'gql' });
    let next = 0;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < CUSTOMERS) {
          const i = next++;
          const surname = SURNAMES[i % SURNAMES.length];
          await api('POST', '/v1/tenants/gql/customers', {
            key: `cust-${i}`,
            kind: 'person',
            name: `Person${i} ${surname}`,
            email: `person${i}@${surname.toLowerCase()}.example.com`,
          });
        }
      }),
    );
    await authed(SEARCH, { s: SURNAMES[0] }); // warm-up
    const searchMs: number[] = [];
    next = 0;
    let started = performance.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < SEARCHES) {
          const i = next++;
          const t = performance.now();
          const data = await authed(SEARCH, { s: SURNAMES[i % SURNAMES.length].toLowerCase() });
          searchMs.push(performance.now() - t);
          if (CUSTOMERS >= SURNAMES.length && data.customers.nodes.length === 0)
            throw new Error(`customers(search) found nobody for ${SURNAMES[i % SURNAMES.length]}`);
        }
      }),
    );
    const searchPerSec = SEARCHES / ((performance.now() - started) / 1000);
    searchMs.sort((a, b) => a - b);

    // The report over seeded finished deliveries of the last DAYS days, at each size.
    const ep = await api('POST', '/v1/tenants/gql/endpoints', { url: endpointUrl });
    const variables = {
      from: new Date(Date.now() - (DAYS + 1) * 86_400_000).toISOString(),
      to: new Date(Date.now() + 60_000).toISOString(),
    };
    const reports: ReportFigure[] = [];
    let seeded = 0;
    for (const size of REPORT_SIZES) {
      await seedFinishedDeliveries(db, tenant.id, ep.id, size - seeded, DAYS, `gqlreport${size}`);
      seeded = size;
      const rebuildS = await rebuildRollups(db, tenant.id);
      const check = await authed(REPORT, variables); // warm-up, and proof the report counted them all
      const totals = check.report.totals;
      if (totals.delivered + totals.failed !== size)
        throw new Error(`report counted ${totals.delivered + totals.failed} finished deliveries, ${size} were seeded`);
      const reportMs: number[] = [];
      started = performance.now();
      for (let i = 0; i < REPORTS; i++) {
        const t = performance.now();
        await authed(REPORT, variables);
        reportMs.push(performance.now() - t);
      }
      const perSec = REPORTS / ((performance.now() - started) / 1000);
      reportMs.sort((a, b) => a - b);
      reports.push({ deliveries: size, perSec, p50Ms: quantile(reportMs, 0.5), p99Ms: quantile(reportMs, 0.99), rebuildS });
    }
    return {
      logInP50Ms: quantile(logIns, 0.5),
      logInP99Ms: quantile(logIns, 0.99),
      searchPerSec,
      searchP50Ms: quantile(searchMs, 0.5),
      reports,
    };
  } finally {
    await pool.close();
  }
}
