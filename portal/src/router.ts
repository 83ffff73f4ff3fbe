// Routes are paths under /portal/ (the server answers index.html for each, see
// src/portal/servePortal.ts), moved between with the History API: links stay real links
// (open in a new tab, copy the address) and the back button works.
import { useSyncExternalStore } from 'react';

export const BASE = '/portal';

const listeners = new Set<() => void>();
window.addEventListener('popstate', () => listeners.forEach((l) => l()));

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

/** The path below /portal ("/webhooks", "/users/cus_…"), and the query string. */
export function useLocation(): { path: string; search: string } {
  const href = useSyncExternalStore(subscribe, () => window.location.pathname + window.location.search);
  const url = new URL(href, window.location.origin);
  const path = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) || '/' : url.pathname;
  return { path: path.replace(/\/+$/, '') || '/', search: url.search };
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  const url = BASE + to;
  if (opts.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  listeners.forEach((l) => l());
  window.scrollTo(0, 0);
}
