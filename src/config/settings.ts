// Every setting Herald has, declared once: its environment variable, type, default and what it
// does. loadConfig (src/config.ts) reads the environment through these declarations and nothing
// else, and `npm run docs:config` writes the reference in docs/configuration.md from them, so a
// setting cannot exist undocumented. Descriptions are markdown, one paragraph; links are relative
// to docs/configuration.md.
import path from 'node:path';
import {
  cidrList,
  ConfigError,
  DEFAULT_RETRY_SCHEDULE,
  duration,
  flag,
  httpUrl,
  type Kind,
  number,
  oneOf,
  parseRetrySchedule,
  secretKey,
  seconds,
  toNumber,
} from './kinds.js';

/** The typed configuration every part of Herald receives; each field is declared in SETTINGS below. */
export interface Config {
  port: number;
  host: string;
  publicUrl: string;
  roles: { api: boolean; worker: boolean };
  logLevel: string;
  databaseUrl: string | undefined;
  dataDir: string;
  sqliteSync: 'normal' | 'full';
  maxClockSkewMs: number;
  retrySchedule: number[];
  tokenHeader: string;
  deliveryTimeoutMs: number;
  leaseMs: number;
  workerConcurrency: number;
  tenantConcurrency: number;
  endpointConcurrency: number;
  pollIntervalMs: number;
  listenExpiryMs: number;
  circuitThreshold: number;
  circuitCooldownMs: number;
  disableAfterMs: number;
  operatorWebhookUrl: string | undefined;
  operatorWebhookPrivate: boolean;
  maxPayloadBytes: number;
  maxBatchBytes: number;
  maxJsonDepth: number;
  apiRateLimit: number;
  maxEndpointsPerTenant: number;
  inboundMaxBytes: number;
  inboundRejectionsStored: number;
  inboundRejectedBodyBytes: number;
  inboundRejectedBytesPerHour: number;
  inboundBurstLagMs: number;
  inboundRejectedRetentionMs: number;
  secretKey: string | undefined;
  previousSecretKeys: string[];
  allowPrivateCidrs: string[];
  sandboxTenantPrivate: boolean;
  sessionTtlMs: number;
  payloadRetentionDays: number;
  attemptRetentionDays: number;
  maintenanceIntervalMs: number;
  otlpEndpoint: string | undefined;
  otlpTracesEndpoint: string | undefined;
  otelServiceName: string;
  otelSdkDisabled: boolean;
  cliUrl: string | undefined;
  cliKey: string | undefined;
}

/** Reads another setting, for a default or a check that depends on it. */
export type Get = <K extends keyof Config>(key: K) => Config[K];

/** The reference's sections, in order. */
export const GROUPS = {
  server: { title: 'Server', intro: 'Where the API listens and what this process runs.' },
  database: { title: 'Database', intro: "Which database holds the state, and how far a node's clock may be from it." },
  delivery: { title: 'Delivery', intro: 'How webhooks are sent: retries, timeouts, and how many at once.' },
  health: {
    title: 'Endpoint health',
    intro:
      'When a failing endpoint is paused or disabled, and where Herald reports it (see [endpoint health](#endpoint-health-and-operational-events)).',
  },
  api: { title: 'API limits', intro: 'What one request, one key and one tenant may ask of the API.' },
  inbound: {
    title: 'Sources',
    intro: 'Limits on what [sources](sources.md) accept from providers, and on what they keep of the requests they refuse.',
  },
  security: {
    title: 'Secrets and network access',
    intro: 'The key that seals secrets at rest, and which private addresses endpoints may reach.',
  },
  accounts: { title: 'Accounts', intro: 'People who log in (see [accounts](accounts.md)).' },
  retention: { title: 'Retention and maintenance', intro: 'How long Herald keeps what it stores, and how often it cleans up.' },
  observability: {
    title: 'Traces',
    intro:
      "OpenTelemetry's own variables (see [operations](operations.md#traces-opentelemetry)). The exporter also reads `OTEL_EXPORTER_OTLP_HEADERS`, `OTEL_EXPORTER_OTLP_TIMEOUT` and the batch processor's `OTEL_BSP_*` itself.",
  },
  cli: {
    title: 'Command line',
    intro:
      'Read by the `herald` commands only, never by the server: which Herald `herald listen`, `trigger`, `tail` and `recover` talk to (see [the CLI](cli.md)). Unset, they work on the database the other settings name.',
  },
} as const;

export type GroupId = keyof typeof GROUPS;

interface About {
  /** The environment variable. */
  env: string;
  group: GroupId;
  /** What the variable holds, in the reference's words (markdown). */
  type: string;
  /** One paragraph of markdown: what the setting does, its limits, when to change it. */
  description: string;
}

/**
 * A setting with a default has it as the text one would write in the variable: the reader gets
 * that text when the variable is unset or empty, and the reference shows it. A setting whose
 * default is computed, or that is off when unset, says so in `defaultText` and reads undefined.
 */
export type Setting<T> = About &
  (
    | { default: string; defaultText?: undefined; read: (raw: string, name: string, get: Get) => T }
    | { default?: undefined; defaultText: string; read: (raw: string | undefined, name: string, get: Get) => T }
  );

const DEFAULT_WORKER_CONCURRENCY = 500;
const tenantShare = (workers: number) => Math.max(1, Math.floor((workers * 4) / 5));

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

/** A setting of a common kind: the kind gives its type and reader. */
function of<T>(kind: Kind<T>, about: Omit<About, 'type'> & { default: string }): Setting<T> {
  const read = (raw: string, name: string) => kind.read(raw, name);
  return { ...about, type: kind.type, read };
}

export const SETTINGS: { readonly [K in keyof Config]: Setting<Config[K]> } = {
  // Server
  port: of(number(0), {
    env: 'HERALD_PORT',
    group: 'server',
    default: '8080',
    description:
      'HTTP port of the API: REST, GraphQL, the addresses sources receive at, and the API reference. `0` lets the system pick a free port, which the start banner then names.',
  }),
  host: {
    env: 'HERALD_HOST',
    group: 'server',
    type: 'address',
    default: '0.0.0.0',
    description: 'Address the API binds to; `127.0.0.1` keeps it to this machine.',
    read: (raw) => raw,
  },
  publicUrl: {
    env: 'HERALD_PUBLIC_URL',
    group: 'server',
    type: 'URL',
    defaultText: '`http://localhost:<port>`',
    description:
      'The address others reach Herald at: printed at start, used in links, and the start of the URL a [source](sources.md) gives providers to send to. A trailing `/` is dropped.',
    read: (raw, _name, get) => (raw ?? `http://localhost:${get('port')}`).replace(/\/$/, ''),
  },
  roles: {
    env: 'HERALD_ROLES',
    group: 'server',
    type: '`api`, `worker` or `api,worker`',
    default: 'api,worker',
    description:
      'What this process runs: the API, the worker that sends deliveries and runs maintenance, or both. A process that runs both hands the deliveries of the events it accepts straight to its own worker (see [running several nodes](#running-several-nodes)).',
    read: (raw, name) => {
      const roles = raw.split(',').map((s) => s.trim());
      for (const r of roles) {
        if (r !== 'api' && r !== 'worker') throw new ConfigError(`${name}: unknown role "${r}" (use api, worker or both)`);
      }
      return { api: roles.includes('api'), worker: roles.includes('worker') };
    },
  },
  logLevel: of(oneOf(LOG_LEVELS), {
    env: 'HERALD_LOG_LEVEL',
    group: 'server',
    default: 'info',
    description: 'How much the server logs (JSON lines on stdout). `debug` also logs every request; `silent` logs nothing.',
  }),

  // Database
  databaseUrl: {
    env: 'DATABASE_URL',
    group: 'database',
    type: '`postgres://` URL',
    defaultText: 'unset: the embedded SQLite database',
    description:
      'Use this Postgres database instead of the embedded SQLite file; migrations run at start. Every node pointed at the same database shares the work (see [running several nodes](#running-several-nodes)). With Postgres, `HERALD_SECRET_KEY` is required.',
    read: (raw) => {
      if (raw !== undefined && !/^postgres(ql)?:\/\//.test(raw)) {
        throw new ConfigError('DATABASE_URL must start with postgres:// (unset it to use the embedded SQLite database)');
      }
      return raw;
    },
  },
  dataDir: {
    env: 'HERALD_DATA_DIR',
    group: 'database',
    type: 'directory',
    default: './.herald',
    description:
      'Where the embedded SQLite database lives, and the secret key Herald generates for it (`secret.key`, see [secrets at rest](#secrets-at-rest)): back them up together. Relative to the directory Herald starts in.',
    read: (raw) => path.resolve(raw),
  },
  sqliteSync: of(oneOf(['normal', 'full'] as const), {
    env: 'HERALD_SQLITE_SYNC',
    group: 'database',
    default: 'full',
    description:
      '`full`: every commit is flushed to disk (the write-ahead log fsynced, off the event loop) before Herald answers for it, so an accepted event survives power loss. `normal`: no flush per commit; an accepted event survives a crash of Herald but not of the machine. Faster.',
  }),
  maxClockSkewMs: of(seconds(0), {
    env: 'HERALD_MAX_CLOCK_SKEW',
    group: 'database',
    default: '30',
    description:
      "How far this machine's clock may be from the database's; further off, Herald refuses to start, because what it stamps with its own clock would be off by as much. Leases follow the database's clock whatever this says, and an offset above 2 s is logged as a warning. `0`: never refuse. See [clocks](#clocks).",
  }),

  // Delivery
  retrySchedule: {
    env: 'HERALD_RETRY_SCHEDULE',
    group: 'delivery',
    type: 'comma-separated seconds',
    default: DEFAULT_RETRY_SCHEDULE.join(','),
    description:
      'Seconds to wait after each failed attempt before the next: its length + 1 is the number of attempts in all. A delivery that has used up the schedule is failed for good (and reported as `delivery.exhausted`).',
    read: (raw) => parseRetrySchedule(raw),
  },
  tokenHeader: {
    env: 'HERALD_TOKEN_HEADER',
    group: 'delivery',
    type: 'header name',
    default: 'x-herald-webhook-token',
    description:
      "The header that carries the tenant's webhook token on every delivery (Productfy: `x-pfy-webhook-token`); see [receiving webhooks](receiving-webhooks.md). Case does not matter.",
    read: (raw) => raw.toLowerCase(),
  },
  deliveryTimeoutMs: of(seconds(0.1), {
    env: 'HERALD_DELIVERY_TIMEOUT',
    group: 'delivery',
    default: '15',
    description: 'How long one attempt may take, connecting and answering included; longer counts as a failed attempt.',
  }),
  leaseMs: {
    env: 'HERALD_LEASE_SECONDS',
    group: 'delivery',
    type: 'seconds ≥ 1, longer than `HERALD_DELIVERY_TIMEOUT`',
    default: '60',
    description:
      'How long a worker holds a delivery it claimed; a worker that dies lets its deliveries go to the others after this (see [running several nodes](#running-several-nodes)). It must outlast one attempt: a request still running when its lease ends would be claimed and sent a second time.',
    read: (raw, name, get) => {
      const ms = seconds(1).read(raw, name);
      const timeoutMs = get('deliveryTimeoutMs');
      if (ms <= timeoutMs)
        throw new ConfigError(
          `${name} (${ms / 1000} s) must be longer than HERALD_DELIVERY_TIMEOUT (${timeoutMs / 1000} s): a request still running when its lease ends would be claimed and sent a second time; raise ${name} or lower HERALD_DELIVERY_TIMEOUT`,
        );
      return ms;
    },
  },
  workerConcurrency: of(number(1), {
    env: 'HERALD_WORKER_CONCURRENCY',
    group: 'delivery',
    default: String(DEFAULT_WORKER_CONCURRENCY),
    description: 'Deliveries one process sends at once, all tenants and endpoints together.',
  }),
  tenantConcurrency: {
    env: 'HERALD_TENANT_CONCURRENCY',
    group: 'delivery',
    type: 'number ≥ 1, at most `HERALD_WORKER_CONCURRENCY`',
    defaultText: `four fifths of \`HERALD_WORKER_CONCURRENCY\` (\`${tenantShare(DEFAULT_WORKER_CONCURRENCY)}\`)`,
    description:
      "Deliveries one process sends at once for one tenant: the rest of the worker stays free for the other tenants, so one tenant's slow endpoints cannot hold up everyone (see [fairness](#fairness-between-tenants)). Raise it to `HERALD_WORKER_CONCURRENCY` when one tenant is all there is.",
    read: (raw, name, get) => {
      const workers = get('workerConcurrency');
      const n = raw === undefined ? tenantShare(workers) : toNumber(raw, name, 1);
      if (n > workers) {
        throw new ConfigError(
          `HERALD_TENANT_CONCURRENCY (${n}) must not exceed HERALD_WORKER_CONCURRENCY (${workers}); set it lower, or raise HERALD_WORKER_CONCURRENCY`,
        );
      }
      return n;
    },
  },
  endpointConcurrency: of(number(1), {
    env: 'HERALD_ENDPOINT_CONCURRENCY',
    group: 'delivery',
    default: '100',
    description:
      'Deliveries one process sends to one endpoint at once, unless the endpoint sets its own `maxConcurrency`; never more than four fifths of `HERALD_TENANT_CONCURRENCY`.',
  }),
  pollIntervalMs: of(number(10), {
    env: 'HERALD_POLL_INTERVAL_MS',
    group: 'delivery',
    default: '1000',
    description:
      'How often, in milliseconds, an idle worker looks for deliveries and received webhooks that have come due: retries, and work committed by another process. A process that runs both roles sends the events it accepts at once; on Postgres, work committed by other nodes wakes a worker at once by notification, and the poll finds what a notification missed (see [running several nodes](#running-several-nodes)).',
  }),

  listenExpiryMs: of(duration(), {
    env: 'HERALD_LISTEN_EXPIRY',
    group: 'delivery',
    default: '10m',
    description:
      'A `herald listen` endpoint that no connection has renewed for this long is deleted by maintenance, and what still waited for it fails (see [the CLI](cli.md#herald-listen)). A connected listener renews it every 15 s, or every third of this if that is shorter.',
  }),

  // Endpoint health and operator events
  circuitThreshold: of(number(1), {
    env: 'HERALD_CIRCUIT_THRESHOLD',
    group: 'health',
    default: '5',
    description:
      "Failed attempts in a row that open an endpoint's circuit: its deliveries wait without using up their retry schedules, and one probe at a time tests the endpoint. The operator is told with `delivery.failing`.",
  }),
  circuitCooldownMs: of(seconds(0.01), {
    env: 'HERALD_CIRCUIT_COOLDOWN',
    group: 'health',
    default: '30',
    description:
      'The least an open circuit waits before a probe; the longer the endpoint has failed, the longer the wait (a quarter of the failing time, up to an hour).',
  }),
  disableAfterMs: of(duration(), {
    env: 'HERALD_DISABLE_AFTER',
    group: 'health',
    default: '5d',
    description:
      'An endpoint failing this long without a success is disabled, as is one that answers 410 Gone; `PATCH {"enabled": true}` turns it back on with a clean slate.',
  }),
  operatorWebhookUrl: {
    env: 'HERALD_OPERATOR_WEBHOOK_URL',
    group: 'health',
    type: 'http(s) URL',
    defaultText: 'unset: nowhere',
    description:
      "Where operational events go (`endpoint.disabled`, `endpoint.recovered`, `delivery.failing`, `delivery.exhausted`), signed, retried and logged like any webhook (see [operational events](#endpoint-health-and-operational-events)). Unsetting it disables the operator's endpoint and keeps its URL.",
    read: (raw, name) => (raw === undefined ? undefined : httpUrl(raw, name)),
  },
  operatorWebhookPrivate: of(flag(), {
    env: 'HERALD_OPERATOR_WEBHOOK_PRIVATE',
    group: 'health',
    default: '0',
    description:
      "`1`: the operator's endpoint may reach private addresses whatever its name resolves to (an internal name such as `alerts.internal`). A URL whose host is a private address or `localhost` as written needs no setting (see [SSRF](#where-endpoints-may-point-ssrf)).",
  }),

  // API limits
  maxPayloadBytes: of(number(1), {
    env: 'HERALD_MAX_PAYLOAD_BYTES',
    group: 'api',
    default: String(256 * 1024),
    description: 'Largest event payload, in bytes (256 KiB); larger: 413.',
  }),
  maxBatchBytes: of(number(1024), {
    env: 'HERALD_MAX_BATCH_BYTES',
    group: 'api',
    default: String(8 * 1024 * 1024),
    description:
      "Largest body of `POST …/events/batch`, in bytes (8 MiB); larger: 413, naming this variable. Never more than 1,000 × (`HERALD_MAX_PAYLOAD_BYTES` + 1 KiB). The key and the tenant are checked before the body is read. 8 MiB of batch took Herald's RSS from 106 to 164 MB at peak.",
  }),
  maxJsonDepth: of(number(4), {
    env: 'HERALD_MAX_JSON_DEPTH',
    group: 'api',
    default: '64',
    // A batch's own envelope ({"events":[{"payload":…}]}) takes three levels: hence the minimum.
    description:
      "How deeply objects and arrays may nest in any JSON request body, the body itself counting as one level (a batch's envelope takes three); deeper: 400.",
  }),
  apiRateLimit: of(number(0), {
    env: 'HERALD_API_RATE_LIMIT',
    group: 'api',
    default: '1000',
    description:
      "API requests per second per key, per node, with bursts of up to one second's worth; over it: 429 with `retry-after`. `0` turns it off.",
  }),
  maxEndpointsPerTenant: of(number(1), {
    env: 'HERALD_MAX_ENDPOINTS_PER_TENANT',
    group: 'api',
    default: '100',
    description: 'Endpoints one tenant may have; one more: 409. Enforced exactly, even under concurrent creates on several nodes.',
  }),

  // Receiving webhooks
  inboundMaxBytes: of(number(1), {
    env: 'HERALD_INBOUND_MAX_BYTES',
    group: 'inbound',
    default: String(1024 * 1024),
    description: 'Largest body a source accepts, in bytes (1 MiB); larger: 413, recorded as rejected without the body.',
  }),
  inboundRejectionsStored: of(number(0), {
    env: 'HERALD_INBOUND_REJECTIONS_STORED',
    group: 'inbound',
    default: '10',
    description:
      'Refused requests (bad signature, malformed, too large) a source stores per second, per node; beyond it they are still refused, but not stored. `0`: no count limit (the byte budget, `HERALD_INBOUND_REJECTED_BYTES_PER_HOUR`, still holds).',
  }),
  inboundRejectedBodyBytes: {
    env: 'HERALD_INBOUND_REJECTED_BODY_BYTES',
    group: 'inbound',
    type: 'whole number, 0 to 65536',
    default: '1024',
    description:
      "How much of a refused request's body is stored: its first bytes (`bodySize` and `bodyTruncated` on the message say what came). Its headers are kept up to 4 KiB, each value cut to 512 characters.",
    read: (raw, name) => {
      const n = toNumber(raw, name, 0);
      if (!Number.isInteger(n) || n > 65_536) {
        throw new ConfigError(
          `${name} must be a whole number of bytes from 0 to 65536 (refused requests keep only the start of their body); got "${raw}"`,
        );
      }
      return n;
    },
  },
  inboundRejectedBytesPerHour: {
    env: 'HERALD_INBOUND_REJECTED_BYTES_PER_HOUR',
    group: 'inbound',
    type: '`0`, or a whole number ≥ 16384',
    default: String(128 * 1024),
    description:
      "Bytes of refused requests one source stores per hour, per node: body prefix, headers, reason and 256 bytes of row overhead each (a burst may use the hour's budget at once). Beyond it refusals are still answered, but not stored, so a flood of forged requests writes at most this much per source per hour. `0`: no byte limit.",
    // A refused request costs up to its body prefix, 4 KiB of headers and its reason: a budget
    // smaller than 16 KiB would store none (or nearly none), which is surely not what was meant.
    read: (raw, name) => {
      const n = toNumber(raw, name, 0);
      if (n !== 0 && (!Number.isInteger(n) || n < 16_384)) {
        throw new ConfigError(`${name} must be 0 (no byte limit) or a whole number of bytes of at least 16384; got "${raw}"`);
      }
      return n;
    },
  },
  inboundBurstLagMs: of(duration(), {
    env: 'HERALD_INBOUND_BURST_LAG',
    group: 'inbound',
    default: '2s',
    description:
      'While a burst of webhooks arrives (1,000 a second or more on the node), answering them comes first: processing them (forwarded events, billing records) takes 5 % of the time while it is just behind, growing to a third as the oldest message waiting gets this old. `0`: a third throughout.',
  }),
  inboundRejectedRetentionMs: of(duration(), {
    env: 'HERALD_INBOUND_REJECTED_RETENTION',
    group: 'inbound',
    default: '7d',
    description:
      'Refused requests are deleted this long after they arrived, by the maintenance loop in batches; accepted messages are not touched. `0`: kept, and emptied after `HERALD_PAYLOAD_RETENTION_DAYS` like accepted ones.',
  }),

  // Secrets and network access
  secretKey: {
    env: 'HERALD_SECRET_KEY',
    group: 'security',
    type: '32+ characters',
    defaultText: 'generated (embedded database only)',
    description:
      "The key that seals endpoint secrets, tenant tokens, source secrets and users' TOTP secrets at rest. Required with Postgres. Make it once and keep it: the same key on every node and every start (see [secrets at rest](#secrets-at-rest)).",
    read: (raw, name) => (raw === undefined ? undefined : secretKey(raw, name)),
  },
  previousSecretKeys: {
    env: 'HERALD_SECRET_KEY_PREVIOUS',
    group: 'security',
    type: 'comma-separated keys',
    defaultText: 'none',
    description:
      'Older keys, still accepted for reading during a rotation: at start Herald re-seals every stored value with `HERALD_SECRET_KEY`; drop them once every node has restarted.',
    read: (raw, name) =>
      (raw ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((k) => secretKey(k, name)),
  },
  allowPrivateCidrs: {
    env: 'HERALD_ALLOW_PRIVATE_CIDRS',
    group: 'security',
    type: 'comma-separated CIDRs',
    defaultText: 'none',
    description:
      'Private ranges that guarded endpoints (production ones, and sandbox URLs set by tenants) may reach nevertheless, e.g. `10.20.0.0/16` for an internal receiver; see [SSRF](#where-endpoints-may-point-ssrf).',
    read: (raw, name) => (raw === undefined ? [] : cidrList(raw, name)),
  },
  sandboxTenantPrivate: of(flag(), {
    env: 'HERALD_SANDBOX_TENANT_PRIVATE',
    group: 'security',
    default: '0',
    description:
      '`1`: tenant-scoped credentials may point sandbox endpoints at private and loopback addresses too; by default only operator keys may. See [SSRF](#where-endpoints-may-point-ssrf).',
  }),

  // Accounts
  // A session shorter than a minute could not be refreshed in time by a client; one longer than a
  // day defeats the point of short sessions (a stolen key works until it expires).
  sessionTtlMs: {
    env: 'HERALD_SESSION_TTL_SECONDS',
    group: 'accounts',
    type: 'whole seconds, 60 to 86400',
    default: '1200',
    description:
      'Lifetime of a login session (20 minutes), absolute: using a session does not extend it, and a client refreshes it before it runs out (see [accounts](accounts.md#sessions)).',
    read: (raw, name) => {
      const n = Number(raw);
      if (!Number.isInteger(n) || n < 60 || n > 86_400) {
        throw new ConfigError(`${name} must be a whole number of seconds from 60 to 86400 (default 1200: 20 minutes); got "${raw}"`);
      }
      return n * 1000;
    },
  },

  // Retention and maintenance
  payloadRetentionDays: of(number(0), {
    env: 'HERALD_PAYLOAD_RETENTION_DAYS',
    group: 'retention',
    default: '90',
    description:
      'Days an event keeps its payload: after this it is purged (the event and its delivery log stay), and so are the headers and body of a received webhook that is done with (processed, rejected or failed; unmatched ones keep theirs). `0`: forever.',
  }),
  attemptRetentionDays: of(number(0), {
    env: 'HERALD_ATTEMPT_RETENTION_DAYS',
    group: 'retention',
    default: '90',
    description: 'Days delivery attempts are kept; then they are deleted. `0`: forever.',
  }),
  maintenanceIntervalMs: of(number(10), {
    env: 'HERALD_MAINTENANCE_INTERVAL_MS',
    group: 'retention',
    default: '1000',
    description: 'How often, in milliseconds, a worker node runs recoveries and retention.',
  }),
  // Traces
  otlpEndpoint: {
    env: 'OTEL_EXPORTER_OTLP_ENDPOINT',
    group: 'observability',
    type: 'URL',
    defaultText: 'unset: no traces',
    description:
      'An OTLP/HTTP receiver (a collector, Jaeger, Tempo, …): Herald exports spans to this URL + `/v1/traces`. Unset, tracing is off and costs nothing.',
    read: (raw, name) => (raw === undefined ? undefined : httpUrl(raw, name)),
  },
  otlpTracesEndpoint: {
    env: 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
    group: 'observability',
    type: 'URL',
    defaultText: 'unset: `OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`',
    description:
      'The full URL spans are posted to, when it is not the usual path under `OTEL_EXPORTER_OTLP_ENDPOINT`. Set alone, it turns tracing on.',
    read: (raw, name) => (raw === undefined ? undefined : httpUrl(raw, name)),
  },
  otelServiceName: {
    env: 'OTEL_SERVICE_NAME',
    group: 'observability',
    type: 'name',
    default: 'herald',
    description: 'The `service.name` of the spans.',
    read: (raw) => raw,
  },
  otelSdkDisabled: {
    env: 'OTEL_SDK_DISABLED',
    group: 'observability',
    type: '`true` or `false`',
    default: 'false',
    description: '`true` turns tracing off even when an OTLP endpoint is set.',
    // OpenTelemetry's spelling: true or false, not Herald's 1 or 0.
    read: (raw, name) => oneOf(['true', 'false'] as const).read(raw, name) === 'true',
  },

  // Command line
  cliUrl: {
    env: 'HERALD_URL',
    group: 'cli',
    type: 'http(s) URL',
    defaultText: 'unset: the local database',
    description:
      'The address of a running Herald (e.g. `https://herald.example.com`): with `HERALD_KEY`, `herald listen`, `trigger`, `tail` and `recover` call its REST API instead of opening the database.',
    read: (raw, name) => (raw === undefined ? undefined : httpUrl(raw, name).replace(/\/$/, '')),
  },
  cliKey: {
    env: 'HERALD_KEY',
    group: 'cli',
    type: 'secret key (`sk_…`)',
    defaultText: 'unset',
    description:
      'The secret key those commands call `HERALD_URL` with; its environment (sandbox or production) is the one they act in, and a tenant-scoped key reaches its own tenant only. Set both or neither.',
    read: (raw, name) => {
      if (raw !== undefined && !/^sk_(test|live)_\S+$/.test(raw)) {
        throw new ConfigError(`${name} must be a secret key (sk_test_… or sk_live_…); create one with \`herald keys create\``);
      }
      return raw;
    },
  },
};
