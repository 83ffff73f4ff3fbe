import type { Db, Queryable } from '../db/db.js';
import { createKey, ENVIRONMENT_NAMES, type EnvironmentName } from './keys.js';

export const ENVIRONMENTS = ENVIRONMENT_NAMES;

export interface Environment {
  id: string;
  name: EnvironmentName;
}

export async function getEnvironment(q: Queryable, name: string): Promise<Environment | undefined> {
  return q.one<Environment>('SELECT id, name FROM environments WHERE name = $1', [name]);
}

/**
 * First start: creates both environments and one operator secret key for each. Answers the new
 * keys, or an empty list when the environments already existed (keys are never shown twice).
 * Two processes starting at once agree: the environment rows are inserted with ON CONFLICT.
 */
export async function bootstrapEnvironments(db: Db): Promise<{ environment: EnvironmentName; key: string }[]> {
  return db.tx(async (q) => {
    const created: { environment: EnvironmentName; key: string }[] = [];
    for (const name of ENVIRONMENTS) {
      const n = await q.run('INSERT INTO environments (id, name, created_at) VALUES ($1, $1, $2) ON CONFLICT (name) DO NOTHING', [
        name,
        Date.now(),
      ]);
      if (n === 0) continue;
      const { key } = await createKey(q, { environmentId: name, environment: name, kind: 'secret', name: 'operator (first start)' });
      created.push({ environment: name, key });
    }
    return created;
  });
}
