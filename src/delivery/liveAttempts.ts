import type { Db } from '../db/db.js';
import { Waker } from '../wake.js';
import type { Clock } from './dispatcher.js';
import { attemptsStartedSince, type LiveAttempt } from './sql/readAttempts.js';

// The live delivery log of one tenant (`herald tail`; GET /v1/tenants/:tenant/attempts/stream).
// Attempts are written when they end, in batches, stamped with the time they started: one that
// started earlier can be written after one that started later. So each look reads back a window
// (HERALD_DELIVERY_TIMEOUT plus 30 s, the longest an attempt can take to be written) and leaves
// out what it already told, rather than reading on from the last attempt seen, which would miss
// the slow ones. A look costs the window's attempts of all tenants (the attempts_started index):
// fine for a person watching, not meant for a machine to follow at scale.

export type LiveMessage = ({ type: 'attempt' } & LiveAttempt) | { type: 'ping' };

export interface FollowOptions {
  /** The first attempts told are those started at or after this (the database's time). */
  since: number;
  /** The longest an attempt takes from its start to being written (the delivery timeout). */
  deliveryTimeoutMs: number;
  pollMs: number;
  clock: Clock;
}

const PAGE = 500;
const PING_MS = 15_000;

/** Tells each attempt of the tenant once, as it is written, until `signal` aborts. */
export async function followAttempts(
  db: Db,
  tenantId: string,
  opts: FollowOptions,
  emit: (m: LiveMessage) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const told = new Map<string, number>();
  const lookbackMs = opts.deliveryTimeoutMs + 30_000;
  const waker = new Waker();
  const onAbort = () => waker.wake();
  signal.addEventListener('abort', onAbort);
  let pingAt = Date.now() + PING_MS;
  try {
    while (!signal.aborted) {
      const from = Math.max(opts.since, opts.clock.now() - lookbackMs);
      for (let after: { startedAt: number; id: string } | null = null; ;) {
        const page = await attemptsStartedSince(db, tenantId, from, after, PAGE);
        for (const { startedAtMs, ...a } of page) {
          if (told.has(a.id)) continue;
          told.set(a.id, startedAtMs);
          await emit({ type: 'attempt', ...a });
        }
        if (page.length < PAGE) break;
        const last = page[page.length - 1];
        after = { startedAt: last.startedAtMs, id: last.id };
      }
      // What started before the window will not be read again.
      for (const [id, at] of told) if (at < from) told.delete(id);
      if (Date.now() >= pingAt) {
        await emit({ type: 'ping' });
        pingAt = Date.now() + PING_MS;
      }
      await waker.sleep(opts.pollMs);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
