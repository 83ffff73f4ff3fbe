// Fields read for many rows of one answer (the health of every endpoint listed, the body of every
// attempt shown) are read together: the keys asked for in one tick of the event loop go to `load`
// as one batch (one query), and each caller gets its own value. GraphQL resolves the items of a
// list in one tick, so a page costs one query per such field, not one per row.

type Waiter<V> = { resolve: (v: V | undefined) => void; reject: (err: unknown) => void };

export function batchByTick<K, V>(load: (keys: K[]) => Promise<Map<K, V>>): (key: K) => Promise<V | undefined> {
  let pending: Map<K, Waiter<V>[]> | null = null;
  return (key) =>
    new Promise((resolve, reject) => {
      if (!pending) {
        const batch = new Map<K, Waiter<V>[]>();
        pending = batch;
        queueMicrotask(() => {
          pending = null;
          load([...batch.keys()]).then(
            (values) => batch.forEach((ws, k) => ws.forEach((w) => w.resolve(values.get(k)))),
            (err) => batch.forEach((ws) => ws.forEach((w) => w.reject(err))),
          );
        });
      }
      const waiters = pending.get(key);
      if (waiters) waiters.push({ resolve, reject });
      else pending.set(key, [{ resolve, reject }]);
    });
}
