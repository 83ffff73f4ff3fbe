import type { Config } from '../config.js';

// Failures an operator causes and can fix (a port in use, a database not created, Postgres not
// running) are said in one line that names the setting and the fix. A stack trace would bury that
// line and suggests a bug in Herald, which it is not. Anything not recognised here keeps its stack.

interface SystemError {
  code?: string;
  syscall?: string;
  address?: string;
  port?: number;
  path?: string;
  message?: string;
  errors?: SystemError[];
}

function postgresTarget(url: string): { host: string; port: string; user: string; database: string } {
  const u = new URL(url);
  return {
    host: u.hostname || 'localhost',
    port: u.port || '5432',
    user: decodeURIComponent(u.username) || 'postgres',
    database: decodeURIComponent(u.pathname.replace(/^\//, '')) || decodeURIComponent(u.username) || 'postgres',
  };
}

const quoteIdent = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** One line saying what is wrong and what to do, or null when the error is not a known start-up failure. */
export function describeStartupError(err: unknown, config: Pick<Config, 'port' | 'host' | 'databaseUrl' | 'dataDir'>): string | null {
  const e = err as SystemError | undefined;
  if (!e || typeof e !== 'object') return null;
  // Node reports a refused connection to a name with several addresses as an AggregateError.
  const code = e.code ?? e.errors?.[0]?.code;

  if (e.syscall === 'listen' || code === 'EADDRINUSE') {
    if (code === 'EADDRINUSE') {
      return `port ${config.port} is already in use on ${config.host}: stop the process that holds it, or start Herald on another port with HERALD_PORT (e.g. HERALD_PORT=8081)`;
    }
    if (code === 'EACCES')
      return `no permission to listen on port ${config.port}: ports below 1024 need privileges; set HERALD_PORT to 1024 or above (e.g. HERALD_PORT=8080)`;
    if (code === 'EADDRNOTAVAIL')
      return `cannot listen on ${config.host}: this machine has no such address; set HERALD_HOST to one of its addresses, or 0.0.0.0 for all`;
  }

  if (config.databaseUrl) {
    const pg = postgresTarget(config.databaseUrl);
    if (code === '3D000') {
      return `the Postgres database "${pg.database}" does not exist on ${pg.host}:${pg.port}: create it with \`createdb -h ${pg.host} -p ${pg.port} -U ${pg.user} ${pg.database}\` (or CREATE DATABASE ${quoteIdent(pg.database)}; in psql), then start Herald again; DATABASE_URL names it`;
    }
    if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'ETIMEDOUT' || code === 'EHOSTUNREACH') {
      return `cannot reach Postgres at ${pg.host}:${pg.port} (${code}): start Postgres there, or fix the host and port in DATABASE_URL`;
    }
    if (code === '28P01' || code === '28000') {
      return `Postgres at ${pg.host}:${pg.port} refused user "${pg.user}" (${e.message}): fix the user and password in DATABASE_URL, or allow this user in pg_hba.conf`;
    }
  } else if (code === 'SQLITE_CANTOPEN' || ((code === 'EACCES' || code === 'EROFS' || code === 'ENOTDIR') && e.path)) {
    return `cannot open the SQLite database in ${config.dataDir} (${code}): make that directory writable by this user, or set HERALD_DATA_DIR to one that is`;
  }
  return null;
}
