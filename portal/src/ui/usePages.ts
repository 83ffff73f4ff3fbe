// A paginated list for a screen: the rows shown so far, the cursor of the next page, and loading
// and error state. Every list of the portal loads the same way: the first page whenever its
// filters change, then "Show more" appends the next.
import { type Dispatch, type SetStateAction, useEffect, useRef, useState } from 'react';

/** One page as the GraphQL connections answer it. */
export interface Page<Row> {
  nodes: Row[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

export interface Pages<Row> {
  rows: Row[];
  /** Changes rows in place (a mutation's answer), keeping the pages already shown. */
  setRows: Dispatch<SetStateAction<Row[]>>;
  /** There is a next page. */
  more: boolean;
  loading: boolean;
  error: unknown;
  /** Appends the next page. */
  loadMore: () => Promise<void>;
  /** Starts again from the first page. */
  reload: () => Promise<void>;
}

/**
 * `fetchPage(after)` reads one page with the screen's current filters; `deps` are those filters:
 * when one changes, the list starts again from the first page (after `delayMs`, for a search
 * typed key by key). An answer that arrives after a newer request was made is dropped, so a
 * slow page of the old filters never replaces the new ones.
 */
export function usePages<Row>(
  fetchPage: (after: string | null) => Promise<Page<Row>>,
  deps: unknown[],
  opts: { delayMs?: number } = {},
): Pages<Row> {
  const [rows, setRows] = useState<Row[]>([]);
  const [next, setNext] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<unknown>();
  const latest = useRef(0);
  const fetchRef = useRef(fetchPage);
  fetchRef.current = fetchPage;

  const load = async (after: string | null) => {
    const n = ++latest.current;
    setLoading(true);
    try {
      const page = await fetchRef.current(after);
      if (n !== latest.current) return;
      setRows((prev) => (after ? [...prev, ...page.nodes] : page.nodes));
      setNext(page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null);
      setError(undefined);
    } catch (err) {
      if (n === latest.current) setError(err);
    } finally {
      if (n === latest.current) setLoading(false);
    }
  };

  useEffect(() => {
    if (!opts.delayMs) {
      void load(null);
      return;
    }
    const t = setTimeout(() => void load(null), opts.delayMs);
    return () => clearTimeout(t);
    // The filters are the dependencies; fetchPage is read through its ref.
  }, deps);

  return {
    rows,
    setRows,
    more: next !== null,
    loading,
    error,
    loadMore: () => (next ? load(next) : Promise.resolve()),
    reload: () => load(null),
  };
}
