// Loading one authenticated query for a screen: its data, its error, and a way to load it again.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { TadaDocumentNode } from 'gql.tada';
import { request } from '../api/session';

export interface Query<R> {
  data: R | undefined;
  error: unknown;
  loading: boolean;
  reload: () => Promise<void>;
}

export function useQuery<R, V>(doc: TadaDocumentNode<R, V>, variables: V, opts: { skip?: boolean } = {}): Query<R> {
  const [data, setData] = useState<R>();
  const [error, setError] = useState<unknown>();
  const [loading, setLoading] = useState(!opts.skip);
  const key = JSON.stringify(variables);
  const latest = useRef(0);
  const load = useCallback(async () => {
    if (opts.skip) return;
    const n = ++latest.current;
    setLoading(true);
    try {
      const r = await request(doc, JSON.parse(key) as V);
      if (n === latest.current) {
        setData(r);
        setError(undefined);
      }
    } catch (err) {
      if (n === latest.current) setError(err);
    } finally {
      if (n === latest.current) setLoading(false);
    }
  }, [doc, key, opts.skip]);
  useEffect(() => {
    void load();
  }, [load]);
  return { data, error, loading, reload: load };
}
