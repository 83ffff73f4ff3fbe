import type { Config } from '../config.js';
import type { Db } from '../db/db.js';
import type { EventWriter } from '../events/eventWriter.js';
import type { Auth } from './auth.js';

/** What the routes need, passed in once (no globals). */
export interface ApiDeps {
  db: Db;
  config: Config;
  auth: Auth;
  /** The outbox writer (group commit) that every accepted event goes through. */
  events: EventWriter;
  /** Called after events are committed: wakes this process's delivery worker. */
  onEventsAccepted: () => void;
}
