import type { ListenerAnswer, ListenMessage, RecordedAnswer } from '../delivery/listenerFeed.js';
import type { LiveAttempt } from '../delivery/sql/readAttempts.js';
import type { Recovery } from '../delivery/sql/recoverDeliveries.js';
import type { Endpoint } from '../endpoints/endpoints.js';
import { CliError } from './errors.js';
import { RefusedError, RemoteHerald } from './remote.js';
import type { FollowEnd, ListenEnd, NewListener, Target, TriggeredEvent } from './target.js';

const seg = encodeURIComponent;

/** The commands over a running Herald's REST API (HERALD_URL, HERALD_KEY). */
export class RemoteTarget implements Target {
  private readonly api: RemoteHerald;
  readonly where: string;

  constructor(baseUrl: string, key: string) {
    this.api = new RemoteHerald(baseUrl, key);
    this.where = `Herald at ${baseUrl}`;
  }

  eventLink(tenant: string, eventId: string): string {
    return `${this.api.baseUrl}/v1/tenants/${seg(tenant)}/events/${seg(eventId)}`;
  }

  async trigger(tenant: string, type: string, payload?: string): Promise<TriggeredEvent> {
    let value: unknown;
    if (payload === undefined) {
      const t = await this.api.call<{ example?: unknown }>('GET', `/v1/event-types/${seg(type)}`);
      if (t.example === undefined || t.example === null) {
        throw new CliError(`event type "${type}" has no example payload: give one with --payload '{…}', or set the type's example`);
      }
      value = t.example;
    } else {
      value = JSON.parse(payload);
    }
    return this.api.call<TriggeredEvent>('POST', `/v1/tenants/${seg(tenant)}/events`, { type, payload: value });
  }

  async follow(tenant: string, since: number | undefined, onAttempt: (a: LiveAttempt) => void, signal: AbortSignal): Promise<FollowEnd> {
    const query = since === undefined ? '' : `?since=${seg(new Date(since).toISOString())}`;
    let end: FollowEnd | null = null;
    try {
      await this.api.stream(
        `/v1/tenants/${seg(tenant)}/attempts/stream${query}`,
        (line) => {
          const m = line as ({ type: 'attempt' } & LiveAttempt) | { type: 'ping' } | { type: 'error'; message: string };
          if (m.type === 'error') end = { lost: m.message };
          else if (m.type === 'attempt') {
            const { type: _type, ...attempt } = m;
            onAttempt(attempt);
          }
        },
        signal,
      );
    } catch (err) {
      if (err instanceof RefusedError) throw err;
      return { lost: (err as Error).message };
    }
    if (signal.aborted) return 'stopped';
    return end ?? { lost: 'Herald ended the connection' };
  }

  startRecovery(tenant: string, endpointId: string, since: number, until?: number): Promise<Recovery> {
    return this.api.call<Recovery>('POST', `/v1/tenants/${seg(tenant)}/endpoints/${seg(endpointId)}/recover`, {
      since: new Date(since).toISOString(),
      ...(until === undefined ? {} : { until: new Date(until).toISOString() }),
    });
  }

  recovery(tenant: string, id: string): Promise<Recovery> {
    return this.api.call<Recovery>('GET', `/v1/tenants/${seg(tenant)}/recoveries/${seg(id)}`);
  }

  createListener(tenant: string, input: NewListener): Promise<Endpoint & { secret: string }> {
    return this.api.call('POST', `/v1/tenants/${seg(tenant)}/listeners`, {
      forwardTo: input.forwardTo,
      ...(input.eventTypes?.length ? { eventTypes: input.eventTypes } : {}),
      ...(input.format ? { format: input.format } : {}),
    });
  }

  async listen(
    tenant: string,
    listenerId: string,
    onMessage: (m: ListenMessage) => Promise<void>,
    signal: AbortSignal,
  ): Promise<ListenEnd> {
    let end: ListenEnd | null = null;
    try {
      await this.api.stream(
        `/v1/tenants/${seg(tenant)}/listeners/${seg(listenerId)}/stream`,
        async (line) => {
          const m = line as ListenMessage | { type: 'error'; message: string };
          if (m.type === 'error') end = { lost: m.message };
          else if (m.type === 'gone') end = 'gone';
          if (m.type !== 'error') await onMessage(m);
        },
        signal,
      );
    } catch (err) {
      if (err instanceof RefusedError && err.status === 404) return 'gone';
      if (err instanceof RefusedError) throw err;
      return { lost: (err as Error).message };
    }
    if (signal.aborted) return 'stopped';
    return end ?? { lost: 'Herald ended the connection' };
  }

  answer(tenant: string, listenerId: string, a: ListenerAnswer): Promise<RecordedAnswer> {
    return this.api.call('POST', `/v1/tenants/${seg(tenant)}/listeners/${seg(listenerId)}/results`, a);
  }

  async deleteListener(tenant: string, listenerId: string): Promise<void> {
    await this.api.call('DELETE', `/v1/tenants/${seg(tenant)}/listeners/${seg(listenerId)}`);
  }

  async close(): Promise<void> {}
}
