import type { Config } from '../config.js';
import type { ListenerAnswer, ListenMessage, RecordedAnswer } from '../delivery/listenerFeed.js';
import type { LiveAttempt } from '../delivery/sql/readAttempts.js';
import type { Recovery } from '../delivery/sql/recoverDeliveries.js';
import type { BodyFormat, Endpoint } from '../endpoints/endpoints.js';
import { CliError, UsageError } from './errors.js';

// What `herald listen`, `trigger`, `tail` and `recover` do, against either a running Herald (its
// REST API: HERALD_URL and HERALD_KEY, remoteTarget.ts) or the database the settings name, as the
// other commands do (localTarget.ts). The commands are written once, against this interface.

export interface TriggeredEvent {
  id: string;
  type: string;
  status: string;
}

export interface NewListener {
  forwardTo: string;
  eventTypes?: string[];
  format?: BodyFormat;
}

/** How a connection ended: stopped by us (the signal), the listener gone, or the connection lost (connect again). */
export type ListenEnd = 'stopped' | 'gone' | { lost: string };
export type FollowEnd = 'stopped' | { lost: string };

export interface Target {
  /** Where the commands act, for messages: "Herald at https://…" or "the local database (…)". */
  readonly where: string;
  /** Where a person reads an event (a URL or a command). */
  eventLink(tenant: string, eventId: string): string;
  /** Sends the event type's example payload (or `payload`, JSON text) as an event of the tenant. */
  trigger(tenant: string, type: string, payload?: string): Promise<TriggeredEvent>;
  /**
   * One connection that tells each attempt of the tenant as it is recorded, those started since
   * `since` first (default: from now), until `signal` aborts or the connection is lost.
   */
  follow(tenant: string, since: number | undefined, onAttempt: (a: LiveAttempt) => void, signal: AbortSignal): Promise<FollowEnd>;
  startRecovery(tenant: string, endpointId: string, since: number, until?: number): Promise<Recovery>;
  /** The recovery as it stands (on a local database, after working a step of it). */
  recovery(tenant: string, id: string): Promise<Recovery>;
  createListener(tenant: string, input: NewListener): Promise<Endpoint & { secret: string }>;
  /** One connection of a listener: its messages go to `onMessage` until it ends. */
  listen(tenant: string, listenerId: string, onMessage: (m: ListenMessage) => Promise<void>, signal: AbortSignal): Promise<ListenEnd>;
  answer(tenant: string, listenerId: string, a: ListenerAnswer): Promise<RecordedAnswer>;
  deleteListener(tenant: string, listenerId: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * The remote Herald when HERALD_URL and HERALD_KEY are both set, else the local database. `env`
 * (--env) only means something locally: a remote key already belongs to one environment.
 */
export async function openTarget(config: Config, env: string | undefined): Promise<Target> {
  if (env !== undefined && env !== 'sandbox' && env !== 'production')
    throw new UsageError(`--env must be sandbox or production; got "${env}"`);
  if (config.cliUrl && config.cliKey) {
    if (env !== undefined) throw new UsageError('--env is for the local database; with HERALD_URL, HERALD_KEY decides the environment');
    const { RemoteTarget } = await import('./remoteTarget.js');
    return new RemoteTarget(config.cliUrl, config.cliKey);
  }
  if (config.cliUrl)
    throw new CliError('HERALD_URL is set but HERALD_KEY is not: set both to use a remote Herald, or neither to use the local database');
  if (config.cliKey)
    throw new CliError('HERALD_KEY is set but HERALD_URL is not: set both to use a remote Herald, or neither to use the local database');
  const { LocalTarget } = await import('./localTarget.js');
  return LocalTarget.open(config, env);
}
