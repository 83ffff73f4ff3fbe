// Which tenant the screens show. A tenant user (or an embedded session) has exactly one: its own,
// and never names it (the server fills it in, and refuses any other). An operator picks one; the
// choice is kept for the tab (sessionStorage) and in the address (?tenant=), so a link to a screen
// opens the same tenant.
import { useSyncExternalStore } from 'react';

const KEY = 'herald.tenant';
const listeners = new Set<() => void>();
let chosen: string | null = new URLSearchParams(window.location.search).get('tenant') ?? sessionStorage.getItem(KEY);

export function chooseTenant(id: string | null): void {
  chosen = id;
  if (id) sessionStorage.setItem(KEY, id);
  else sessionStorage.removeItem(KEY);
  listeners.forEach((l) => l());
}

export function useChosenTenant(): string | null {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => chosen,
  );
}
