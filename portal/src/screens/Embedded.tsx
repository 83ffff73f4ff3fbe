import { useEffect, useState } from 'react';
import { ApiError } from '../api/client';
import { adoptSession, currentSession, useSession } from '../api/session';
import { emitPortalEvent, setPortalEventSink } from '../embedEvents';
import { ErrorNote } from '../ui/ErrorNote';
import { Logs } from './Logs';
import { Webhooks } from './Webhooks';

// The portal inside a host page's iframe (public/embed.js): one tenant's Webhooks and Logs with
// the session the host made from a client token, the host's theme, and front-end events posted to
// the host page's origin, never to anyone else.

interface Handover {
  session: string | null;
  expiresAt: string | null;
  origin: string | null;
  accent: string | null;
  logo: string | null;
  dark: boolean;
}

/** Read once and removed from the address: the session key must not linger in the URL. */
const handover: Handover = (() => {
  const h = new URLSearchParams(window.location.hash.slice(1));
  if (window.location.hash) window.history.replaceState(null, '', window.location.pathname + window.location.search);
  return {
    session: h.get('session'),
    expiresAt: h.get('expiresAt'),
    origin: h.get('origin'),
    accent: h.get('accent'),
    logo: h.get('logo'),
    dark: h.get('dark') === '1',
  };
})();

/** The host page's origin, if the browser confirms it is the page that framed us. */
function hostOrigin(): string | null {
  const claimed = handover.origin ?? sessionStorage.getItem('herald.embed.origin');
  const ancestors = (window.location as Location & { ancestorOrigins?: DOMStringList }).ancestorOrigins;
  const framer = ancestors && ancestors.length ? ancestors[0] : null;
  if (!claimed || window.parent === window) return null;
  if (framer && framer !== claimed) return null;
  sessionStorage.setItem('herald.embed.origin', claimed);
  return claimed;
}

const SCREENS = { webhooks: 'Webhooks', logs: 'Logs' } as const;
type Screen = keyof typeof SCREENS;

export function Embedded() {
  const session = useSession();
  const [origin] = useState(hostOrigin);
  const [error, setError] = useState<unknown>();
  const [screen, setScreen] = useState<Screen>('webhooks');

  useEffect(() => {
    if (origin) setPortalEventSink((name, metadata) => window.parent.postMessage({ source: 'herald-portal', name, metadata }, origin));
    const root = document.documentElement;
    if (handover.accent && /^#[0-9a-f]{3,8}$/i.test(handover.accent)) root.style.setProperty('--accent', handover.accent);
    if (handover.dark) root.classList.add('dark');
    root.classList.add('embedded');
  }, [origin]);

  useEffect(() => {
    if (!origin) return;
    if (handover.session && handover.expiresAt && currentSession().status !== 'in') {
      adoptSession(handover.session, handover.expiresAt).then(
        () => emitPortalEvent('READY'),
        (err) => {
          setError(err);
          if (err instanceof ApiError) emitPortalEvent('ERROR', { code: err.code, message: err.message, requestId: err.requestId });
        },
      );
    } else if (currentSession().status === 'in') {
      emitPortalEvent('READY');
    }
  }, [origin]);

  useEffect(() => {
    if (session.status === 'in') emitPortalEvent('SCREEN_VIEW', { screen });
  }, [screen, session.status === 'in']);

  if (!origin)
    return (
      <main className="content">
        <ErrorNote
          error={
            new Error(
              'This page is the embedded Herald portal: open it with HeraldPortal.open() from /portal/embed.js on a page the public key allows.',
            )
          }
        />
      </main>
    );
  if (session.status === 'expired')
    return (
      <main className="content">
        <h1>This session has ended</h1>
        <p>Reload the page to open the portal again.</p>
      </main>
    );
  if (session.status !== 'in')
    return <main className="content">{error ? <ErrorNote error={error} /> : <p role="status">Opening…</p>}</main>;
  return (
    <div className="shell">
      <header className="topbar">
        {handover.logo ? <img src={handover.logo} alt="" className="logo" /> : null}
        <nav aria-label="Main">
          <ul>
            {(Object.keys(SCREENS) as Screen[]).map((s) => (
              <li key={s}>
                <a
                  href={`#${s}`}
                  aria-current={screen === s ? 'page' : undefined}
                  onClick={(e) => {
                    e.preventDefault();
                    setScreen(s);
                  }}
                >
                  {SCREENS[s]}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="whoami">
          <button type="button" onClick={() => emitPortalEvent('EXIT')}>
            Close
          </button>
        </div>
      </header>
      <main id="main" className="content">
        {screen === 'webhooks' ? <Webhooks tenant={null} /> : <Logs tenant={null} />}
      </main>
    </div>
  );
}
