// One typed configuration object, read once at start from environment variables.
// Every key is documented here and in docs/configuration.md.
import net from 'node:net';
import path from 'node:path';

export interface Config {
  /** HTTP port of the API (HERALD_PORT, default 8080). */
  port: number;
  /** Address to bind (HERALD_HOST, default 0.0.0.0). */
  host: string;
  /** Public base URL printed and used in links (HERALD_PUBLIC_URL, default http://localhost:<port>). */
  publicUrl: string;
  /** Where the embedded SQLite database lives (HERALD_DATA_DIR, default ./.herald). */
  dataDir: string;
  /** postgres://… to use Postgres instead of the embedded SQLite file (DATABASE_URL). */
  databaseUrl: string | undefined;
  /** Seconds to wait after each failed attempt; its length + 1 is the number of attempts (HERALD_RETRY_SCHEDULE). */
  retrySchedule: number[];
  /** Header carrying the tenant's webhook token (HERALD_TOKEN_HEADER, default x-herald-webhook-token). */
  tokenHeader: string;
  /** Per-attempt timeout in milliseconds (HERALD_DELIVERY_TIMEOUT seconds, default 15). */
  deliveryTimeoutMs: number;
  /** How long a claimed delivery stays leased to a worker before another may take it (HERALD_LEASE_SECONDS, default 60). */
  leaseMs: number;
  /** Deliveries one process sends at once (HERALD_WORKER_CONCURRENCY, default 500). */
  workerConcurrency: number;
  /** Deliveries one process sends to one endpoint at once, unless the endpoint says otherwise (HERALD_ENDPOINT_CONCURRENCY, default 100). */
  endpointConcurrency: number;
  /**
   * Deliveries one process sends at once for one tenant (HERALD_TENANT_CONCURRENCY, default four
   * fifths of HERALD_WORKER_CONCURRENCY): the rest of the worker stays free for the other tenants.
   */
  tenantConcurrency: number;
  /**
   * A node whose clock differs from the database's by more than this refuses to start, in ms
   * (HERALD_MAX_CLOCK_SKEW seconds, default 30; 0: never refuse). Leases follow the database's
   * clock whatever this says; past 2 s the offset is logged as a warning.
   */
  maxClockSkewMs: number;
  /** How often an idle worker looks for due deliveries, in ms (HERALD_POLL_INTERVAL_MS, default 1000). */
  pollIntervalMs: number;
  /** Roles this process plays (HERALD_ROLES: api,worker; default both). */
  roles: { api: boolean; worker: boolean };
  /** Largest event payload accepted, in bytes (HERALD_MAX_PAYLOAD_BYTES, default 256 KiB). */
  maxPayloadBytes: number;
  /** Largest body of a batch of events, in bytes (HERALD_MAX_BATCH_BYTES, default 8 MiB); larger: 413. */
  maxBatchBytes: number;
  /** How deeply objects and arrays may nest in a JSON request body (HERALD_MAX_JSON_DEPTH, default 64); deeper: 400. */
  maxJsonDepth: number;
  /** Largest body a source accepts, in bytes (HERALD_INBOUND_MAX_BYTES, default 1 MiB); larger: 413. */
  inboundMaxBytes: number;
  /** Refused requests a source stores per second, per node; beyond it they are refused unstored (HERALD_INBOUND_REJECTIONS_STORED, default 10; 0: all). */
  inboundRejectionsStored: number;
  /** Bytes of a refused request's body that are stored, its first ones (HERALD_INBOUND_REJECTED_BODY_BYTES, default 1024; at most 65536). */
  inboundRejectedBodyBytes: number;
  /** Bytes of refused requests one source stores per hour, per node, headers and row included (HERALD_INBOUND_REJECTED_BYTES_PER_HOUR, default 131072; 0: no byte limit). */
  inboundRejectedBytesPerHour: number;
  /** Refused requests are deleted after this, in ms (HERALD_INBOUND_REJECTED_RETENTION: seconds, or 12h, 7d; default 7d; 0: kept, emptied with payloads). */
  inboundRejectedRetentionMs: number;
  /** API requests per second per key, per node; bursts up to one second's worth (HERALD_API_RATE_LIMIT, default 1000; 0: off). */
  apiRateLimit: number;
  /** Endpoints one tenant may have (HERALD_MAX_ENDPOINTS_PER_TENANT, default 100). */
  maxEndpointsPerTenant: number;
  /** CIDRs that guarded endpoints (production, and tenant-set sandbox URLs) may reach although private (HERALD_ALLOW_PRIVATE_CIDRS, comma-separated; default none). */
  allowPrivateCidrs: string[];
  /** Tenant-scoped credentials may point sandbox endpoints at private and loopback addresses (HERALD_SANDBOX_TENANT_PRIVATE=1; default off: only operator keys may). */
  sandboxTenantPrivate: boolean;
  /** Key for secrets at rest (HERALD_SECRET_KEY, 32+ characters; generated on the embedded database when unset). */
  secretKey: string | undefined;
  /** Keys used before a rotation, still accepted for reading (HERALD_SECRET_KEY_PREVIOUS, comma-separated). */
  previousSecretKeys: string[];
  /** Days an event keeps its payload (HERALD_PAYLOAD_RETENTION_DAYS, default 90; 0: forever). */
  payloadRetentionDays: number;
  /** Days attempts are kept (HERALD_ATTEMPT_RETENTION_DAYS, default 90; 0: forever). */
  attemptRetentionDays: number;
  /** How often the maintenance loop runs, in ms (HERALD_MAINTENANCE_INTERVAL_MS, default 1000). */
  maintenanceIntervalMs: number;
  /** Consecutive failures that open an endpoint's circuit (HERALD_CIRCUIT_THRESHOLD, default 5). */
  circuitThreshold: number;
  /** The least a circuit stays open before a probe, in ms; longer the longer the endpoint has failed, up to an hour (HERALD_CIRCUIT_COOLDOWN seconds, default 30). */
  circuitCooldownMs: number;
  /** An endpoint failing this long without a success is disabled (HERALD_DISABLE_AFTER: seconds, or 30m, 12h, 5d; default 5d). */
  disableAfterMs: number;
  /** Where operational events go (HERALD_OPERATOR_WEBHOOK_URL; unset: nowhere). */
  operatorWebhookUrl: string | undefined;
  /** Lifetime of a login session in ms, absolute: using it does not extend it (HERALD_SESSION_TTL_SECONDS, default 1200: 20 minutes). */
  sessionTtlMs: number;
  /** The operator's endpoint may reach private addresses whatever its name resolves to (HERALD_OPERATOR_WEBHOOK_PRIVATE=1; default: only when the URL's host is itself a private address or localhost). */
  operatorWebhookPrivate: boolean;
  /** Log level (HERALD_LOG_LEVEL, default info). */
  logLevel: string;
  /** SQLite `synchronous` pragma (HERALD_SQLITE_SYNC: normal|full, default full). */
  sqliteSync: 'normal' | 'full';
}

export const DEFAULT_RETRY_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000];

export class ConfigError extends Error {}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number, min = 0): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min) {
    throw new ConfigError(`${name} must be a number ≥ ${min}, got "${raw}"`);
  }
  return n;
}

export function parseRetrySchedule(raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return DEFAULT_RETRY_SCHEDULE;
  const parts = raw.split(',').map((s) => s.trim());
  const out = parts.map(Number);
  if (out.some((n, i) => parts[i] === '' || !Number.isFinite(n) || n < 0)) {
    throw new ConfigError(
      `HERALD_RETRY_SCHEDULE must be comma-separated seconds, like "5,300,1800"; got "${raw}"`,
    );
  }
  return out;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === '0' || raw === 'false') return false;
  if (raw === '1' || raw === 'true') return true;
  throw new ConfigError(`${name} must be 1 (on) or 0 (off); got "${env[name]}"`);
}

function secretKey(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (raw.length < 32) throw new ConfigError(`${name} must be at least 32 characters long (e.g. the output of \`openssl rand -base64 48\`)`);
  return raw;
}

function duration(raw: string | undefined, name: string, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/.exec(raw.trim());
  if (!m) throw new ConfigError(`${name} must be seconds or a duration like 30m, 12h, 5d; got "${raw}"`);
  return Math.round(Number(m[1]) * { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 }[(m[2] ?? 's') as 's']!);
}

function rejectedBodyBytes(env: NodeJS.ProcessEnv): number {
  const n = int(env, 'HERALD_INBOUND_REJECTED_BODY_BYTES', 1024);
  if (!Number.isInteger(n) || n > 65_536) {
    throw new ConfigError(`HERALD_INBOUND_REJECTED_BODY_BYTES must be a whole number of bytes from 0 to 65536 (refused requests keep only the start of their body); got "${env.HERALD_INBOUND_REJECTED_BODY_BYTES}"`);
  }
  return n;
}

// A refused request costs up to its body prefix, 4 KiB of headers and its reason: a budget smaller
// than 16 KiB would store none (or nearly none), which is surely not what was meant.
function rejectedBytesPerHour(env: NodeJS.ProcessEnv): number {
  const n = int(env, 'HERALD_INBOUND_REJECTED_BYTES_PER_HOUR', 128 * 1024);
  if (n !== 0 && (!Number.isInteger(n) || n < 16_384)) {
    throw new ConfigError(`HERALD_INBOUND_REJECTED_BYTES_PER_HOUR must be 0 (no byte limit) or a whole number of bytes of at least 16384; got "${env.HERALD_INBOUND_REJECTED_BYTES_PER_HOUR}"`);
  }
  return n;
}

// A session shorter than a minute could not be refreshed in time by a client; one longer than a
// day defeats the point of short sessions (a stolen key works until it expires).
function sessionTtlSeconds(env: NodeJS.ProcessEnv): number {
  const raw = env.HERALD_SESSION_TTL_SECONDS;
  const n = raw === undefined || raw === '' ? 1200 : Number(raw);
  if (!Number.isInteger(n) || n < 60 || n > 86_400) {
    throw new ConfigError(`HERALD_SESSION_TTL_SECONDS must be a whole number of seconds from 60 to 86400 (default 1200: 20 minutes); got "${env.HERALD_SESSION_TTL_SECONDS}"`);
  }
  return n;
}

function operatorUrl(raw: string | undefined): string | undefined {
  if (!raw) return undefined;
  try {
    const u = new URL(raw);
    if (u.protocol === 'http:' || u.protocol === 'https:') return u.toString();
  } catch {}
  throw new ConfigError(`HERALD_OPERATOR_WEBHOOK_URL must be an http(s) URL; got "${raw}"`);
}

function parseCidrs(raw: string | undefined): string[] {
  if (!raw?.trim()) return [];
  return raw.split(',').map((c) => {
    const s = c.trim();
    const [addr, bits] = s.split('/');
    const v = net.isIP(addr);
    const max = v === 4 ? 32 : 128;
    if (!v || bits === undefined || !/^\d+$/.test(bits) || Number(bits) > max) {
      throw new ConfigError(`HERALD_ALLOW_PRIVATE_CIDRS: "${s}" is not a CIDR like 10.0.0.0/8 or fd00::/8`);
    }
    return s;
  });
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = int(env, 'HERALD_PORT', 8080);
  const roleList = (env.HERALD_ROLES ?? 'api,worker').split(',').map((s) => s.trim());
  for (const r of roleList) {
    if (r !== 'api' && r !== 'worker') throw new ConfigError(`HERALD_ROLES: unknown role "${r}" (use api, worker or both)`);
  }
  const sync = (env.HERALD_SQLITE_SYNC ?? 'full').toLowerCase();
  if (sync !== 'normal' && sync !== 'full') throw new ConfigError('HERALD_SQLITE_SYNC must be "normal" or "full"');
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError('DATABASE_URL must start with postgres:// (unset it to use the embedded SQLite database)');
  }
  const workerConcurrency = int(env, 'HERALD_WORKER_CONCURRENCY', 500, 1);
  const tenantConcurrency = int(env, 'HERALD_TENANT_CONCURRENCY', Math.max(1, Math.floor((workerConcurrency * 4) / 5)), 1);
  if (tenantConcurrency > workerConcurrency) {
    throw new ConfigError(
      `HERALD_TENANT_CONCURRENCY (${tenantConcurrency}) must not exceed HERALD_WORKER_CONCURRENCY (${workerConcurrency}); set it lower, or raise HERALD_WORKER_CONCURRENCY`,
    );
  }
  return {
    port,
    host: env.HERALD_HOST ?? '0.0.0.0',
    publicUrl: (env.HERALD_PUBLIC_URL ?? `http://localhost:${port}`).replace(/\/$/, ''),
    dataDir: path.resolve(env.HERALD_DATA_DIR ?? '.herald'),
    databaseUrl,
    retrySchedule: parseRetrySchedule(env.HERALD_RETRY_SCHEDULE),
    tokenHeader: (env.HERALD_TOKEN_HEADER ?? 'x-herald-webhook-token').toLowerCase(),
    deliveryTimeoutMs: Math.round(int(env, 'HERALD_DELIVERY_TIMEOUT', 15, 0.1) * 1000),
    leaseMs: Math.round(int(env, 'HERALD_LEASE_SECONDS', 60, 1) * 1000),
    workerConcurrency,
    tenantConcurrency,
    maxClockSkewMs: Math.round(int(env, 'HERALD_MAX_CLOCK_SKEW', 30, 0) * 1000),
    endpointConcurrency: int(env, 'HERALD_ENDPOINT_CONCURRENCY', 100, 1),
    pollIntervalMs: int(env, 'HERALD_POLL_INTERVAL_MS', 1000, 10),
    roles: { api: roleList.includes('api'), worker: roleList.includes('worker') },
    maxPayloadBytes: int(env, 'HERALD_MAX_PAYLOAD_BYTES', 256 * 1024, 1),
    maxBatchBytes: int(env, 'HERALD_MAX_BATCH_BYTES', 8 * 1024 * 1024, 1024),
    // A batch's own envelope ({"events":[{"payload":…}]}) takes three levels.
    maxJsonDepth: int(env, 'HERALD_MAX_JSON_DEPTH', 64, 4),
    inboundMaxBytes: int(env, 'HERALD_INBOUND_MAX_BYTES', 1024 * 1024, 1),
    inboundRejectionsStored: int(env, 'HERALD_INBOUND_REJECTIONS_STORED', 10),
    inboundRejectedBodyBytes: rejectedBodyBytes(env),
    inboundRejectedBytesPerHour: rejectedBytesPerHour(env),
    inboundRejectedRetentionMs: duration(env.HERALD_INBOUND_REJECTED_RETENTION, 'HERALD_INBOUND_REJECTED_RETENTION', 7 * 86_400_000),
    allowPrivateCidrs: parseCidrs(env.HERALD_ALLOW_PRIVATE_CIDRS),
    sandboxTenantPrivate: flag(env, 'HERALD_SANDBOX_TENANT_PRIVATE'),
    apiRateLimit: int(env, 'HERALD_API_RATE_LIMIT', 1000, 0),
    maxEndpointsPerTenant: int(env, 'HERALD_MAX_ENDPOINTS_PER_TENANT', 100, 1),
    secretKey: secretKey(env.HERALD_SECRET_KEY, 'HERALD_SECRET_KEY'),
    previousSecretKeys: (env.HERALD_SECRET_KEY_PREVIOUS ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((k) => secretKey(k, 'HERALD_SECRET_KEY_PREVIOUS')!),
    payloadRetentionDays: int(env, 'HERALD_PAYLOAD_RETENTION_DAYS', 90, 0),
    attemptRetentionDays: int(env, 'HERALD_ATTEMPT_RETENTION_DAYS', 90, 0),
    maintenanceIntervalMs: int(env, 'HERALD_MAINTENANCE_INTERVAL_MS', 1000, 10),
    circuitThreshold: int(env, 'HERALD_CIRCUIT_THRESHOLD', 5, 1),
    circuitCooldownMs: Math.round(int(env, 'HERALD_CIRCUIT_COOLDOWN', 30, 0.01) * 1000),
    disableAfterMs: duration(env.HERALD_DISABLE_AFTER, 'HERALD_DISABLE_AFTER', 5 * 86_400_000),
    operatorWebhookUrl: operatorUrl(env.HERALD_OPERATOR_WEBHOOK_URL),
    sessionTtlMs: sessionTtlSeconds(env) * 1000,
    operatorWebhookPrivate: flag(env, 'HERALD_OPERATOR_WEBHOOK_PRIVATE'),
    logLevel: env.HERALD_LOG_LEVEL ?? 'info',
    sqliteSync: sync,
  };
}
