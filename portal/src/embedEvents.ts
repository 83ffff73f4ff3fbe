// Front-end events ("callbacks") for a page that embeds the portal (public/embed.js): READY,
// SCREEN_VIEW, ENDPOINT_CREATED, ENDPOINT_UPDATED, TEST_EVENT_SENT, ERROR, SESSION_EXPIRED, EXIT.
// Screens announce what happened here; only the embedded portal (Embedded.tsx) passes it on, to
// the host page's origin alone. In the full portal they go nowhere.

export type PortalEventName =
  'READY' | 'SCREEN_VIEW' | 'ENDPOINT_CREATED' | 'ENDPOINT_UPDATED' | 'TEST_EVENT_SENT' | 'ERROR' | 'SESSION_EXPIRED' | 'EXIT';

let sink: ((name: PortalEventName, metadata: Record<string, unknown>) => void) | null = null;

export function setPortalEventSink(s: typeof sink): void {
  sink = s;
}

export function emitPortalEvent(name: PortalEventName, metadata: Record<string, unknown> = {}): void {
  sink?.(name, metadata);
}

export const isEmbedded = () => window.location.pathname.startsWith('/portal/embed');
