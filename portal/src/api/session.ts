// The logged-in session: its key (kept in sessionStorage, so a reload keeps it and closing the tab
// forgets it), who it is (viewer), a refresh before its 20 minutes run out, and what happens when
// it ends anyway: requests wait while the person logs in again in a dialog over the screen they
// were on, then go through, so a half-filled form is never lost.
import { useSyncExternalStore } from 'react';
import { ApiError, AUTHENTICATED_PATH, post, PUBLIC_PATH } from './client';
import { graphql, publicGraphql, type ResultOf } from './graphql';
import { emitPortalEvent } from '../embedEvents';
import type { TadaDocumentNode } from 'gql.tada';

export const LOG_IN = publicGraphql(`
  mutation LogIn($input: LogInInput!) {
    logIn(input: $input) {
      login { id username sessions { sessionKey expiresAt environment } }
      enrolment { ticket totpSecret otpauthUri qrSvgDataUrl expiresAt }
    }
  }
`);

const COMPLETE_ENROLMENT = publicGraphql(`
  mutation CompleteEnrolment($input: CompleteEnrolmentInput!) {
    completeEnrolment(input: $input) {
      login { id username sessions { sessionKey expiresAt environment } }
      recoveryCodes
    }
  }
`);

export const VIEWER = graphql(`
  query Viewer {
    viewer {
      id
      username
      role
      environment
      tenant {
        id
        uid
      }
      sessionExpiresAt
    }
  }
`);

const REFRESH = graphql(`
  mutation Refresh {
    refreshSession {
      sessionKey
      expiresAt
      environment
    }
  }
`);

const LOG_OUT = graphql(`
  mutation LogOut {
    logOut
  }
`);

export type Viewer = ResultOf<typeof VIEWER>['viewer'];
export type Environment = Viewer['environment'];

export interface Credentials {
  email: string;
  password: string;
  /** A TOTP code, or a recovery code when `recovery` is set. */
  code: string;
  recovery: boolean;
  environment: Environment;
}

/** A first login's challenge: the person sets up an authenticator before any session starts. */
export type Enrolment = NonNullable<ResultOf<typeof LOG_IN>['logIn']['enrolment']>;

/** What logging in answered: a session (already entered), or an enrolment to complete first. */
export type LogInOutcome = { viewer: Viewer; enrolment?: undefined } | { enrolment: Enrolment; environment: Environment };

export type SessionState =
  | { status: 'out'; environment: Environment }
  | { status: 'in'; key: string; expiresAt: number; viewer: Viewer }
  /** The key stopped working: the screen stays, a dialog asks to log in again. */
  | { status: 'expired'; viewer: Viewer };

const STORAGE = 'herald.session';
/** Refresh this long before the end (the docs say: after 15 of the 20 minutes). */
const REFRESH_BEFORE_MS = 5 * 60_000;

let state: SessionState = restore();
const listeners = new Set<() => void>();
let refreshTimer: ReturnType<typeof setTimeout> | undefined;
/** Requests waiting for the person to log in again. */
let waiting: { resolve: () => void; reject: (e: unknown) => void }[] = [];

function restore(): SessionState {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE) ?? 'null') as { key: string; expiresAt: number; viewer: Viewer } | null;
    if (saved && saved.expiresAt > Date.now()) return { status: 'in', ...saved };
  } catch {
    // A damaged entry is the same as none.
  }
  return { status: 'out', environment: 'SANDBOX' };
}

function set(next: SessionState): void {
  state = next;
  if (next.status === 'in')
    sessionStorage.setItem(STORAGE, JSON.stringify({ key: next.key, expiresAt: next.expiresAt, viewer: next.viewer }));
  else sessionStorage.removeItem(STORAGE);
  scheduleRefresh();
  for (const l of listeners) l();
}

function scheduleRefresh(): void {
  clearTimeout(refreshTimer);
  if (state.status !== 'in') return;
  const lifetime = state.expiresAt - Date.now();
  // Before the last five minutes, or at three quarters of a short session (HERALD_SESSION_TTL_SECONDS).
  const delay = Math.max(1000, lifetime > 2 * REFRESH_BEFORE_MS ? lifetime - REFRESH_BEFORE_MS : lifetime * 0.75);
  refreshTimer = setTimeout(() => void refresh(), delay);
}

async function refresh(): Promise<void> {
  if (state.status !== 'in') return;
  const { key, viewer } = state;
  try {
    const r = await post(AUTHENTICATED_PATH, REFRESH, {}, key);
    if (state.status === 'in' && state.key === key)
      set({ status: 'in', key: r.refreshSession.sessionKey, expiresAt: Date.parse(r.refreshSession.expiresAt), viewer });
  } catch (err) {
    // An ended session is noticed by the next request; a network blip is retried in a minute.
    if (err instanceof ApiError && err.code === 'UNAUTHENTICATED') expire();
    else refreshTimer = setTimeout(() => void refresh(), 60_000);
  }
}

function expire(): void {
  if (state.status !== 'in') return;
  set({ status: 'expired', viewer: state.viewer });
  emitPortalEvent('SESSION_EXPIRED');
}

/**
 * The embedded portal's session: made by the host page from a client token (public/embed.js) and
 * handed over in the frame's URL fragment. Reads who it is, like a login.
 */
export async function adoptSession(key: string, expiresAt: string): Promise<Viewer> {
  const { viewer } = await post(AUTHENTICATED_PATH, VIEWER, {}, key);
  set({ status: 'in', key, expiresAt: Date.parse(expiresAt), viewer });
  return viewer;
}

export function useSession(): SessionState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
}

export function currentSession(): SessionState {
  return state;
}

/**
 * Logs in (first login, or again after expiry) and reads who that is. A person with no
 * authenticator yet gets an enrolment instead, and no session until completeEnrolment.
 */
export async function logIn(c: Credentials): Promise<LogInOutcome> {
  const code = c.code.trim();
  const second = !code ? {} : c.recovery ? { recoveryCode: code } : { totpCode: code.replace(/\s+/g, '') };
  const r = await post(
    PUBLIC_PATH,
    LOG_IN,
    { input: { username: c.email.trim(), password: c.password, environment: c.environment, ...second } },
    undefined,
  );
  if (r.logIn.enrolment) return { enrolment: r.logIn.enrolment, environment: c.environment };
  if (!r.logIn.login) throw new ApiError('Herald answered neither a session nor an enrolment.', 'INTERNAL_SERVER_ERROR', null);
  return { viewer: await enter(r.logIn.login.sessions[0]) };
}

/**
 * The end of a first login: the enrolment's ticket and the first code of the new authenticator.
 * Answers the recovery codes (shown once) and `enter`, which starts using the session: the screen
 * shows the codes first, and enters when the person has kept them.
 */
export async function completeEnrolment(
  enrolment: Enrolment,
  code: string,
  environment: Environment,
): Promise<{ recoveryCodes: string[]; enter: () => Promise<Viewer> }> {
  const r = await post(
    PUBLIC_PATH,
    COMPLETE_ENROLMENT,
    { input: { ticket: enrolment.ticket, totpCode: code.replace(/\s+/g, ''), environment } },
    undefined,
  );
  const s = r.completeEnrolment.login.sessions[0];
  return { recoveryCodes: r.completeEnrolment.recoveryCodes, enter: () => enter(s) };
}

/** Starts using a session logIn or completeEnrolment answered; reads who it is. */
async function enter(s: { sessionKey: string; expiresAt: string }): Promise<Viewer> {
  const { viewer } = await post(AUTHENTICATED_PATH, VIEWER, {}, s.sessionKey);
  const before = state.status === 'expired' ? state.viewer : null;
  set({ status: 'in', key: s.sessionKey, expiresAt: Date.parse(s.expiresAt), viewer });
  if (before) {
    if (before.id === viewer.id && before.environment === viewer.environment) {
      for (const w of waiting) w.resolve();
    } else {
      // Someone else (or another environment): what the screen showed is not theirs to see.
      for (const w of waiting) w.reject(new ApiError('logged in as someone else: the screen was reset', 'UNAUTHENTICATED', null));
      window.location.assign('/portal/');
    }
    waiting = [];
  }
  return viewer;
}

export async function logOut(): Promise<void> {
  const env = state.status === 'out' ? state.environment : state.viewer.environment;
  if (state.status === 'in') await post(AUTHENTICATED_PATH, LOG_OUT, {}, state.key).catch(() => undefined);
  for (const w of waiting) w.reject(new ApiError('logged out', 'UNAUTHENTICATED', null));
  waiting = [];
  set({ status: 'out', environment: env });
}

/** Forgets an expired session instead of logging in again (the dialog's other way out). */
export function abandonSession(): void {
  void logOut();
}

/**
 * One authenticated operation. When the session has ended, it waits for the person to log in
 * again (the dialog) and is sent once more with the new key.
 */
export async function request<R, V>(doc: TadaDocumentNode<R, V>, variables: V): Promise<R> {
  for (let tries = 0; ; tries++) {
    if (state.status === 'expired') await new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    if (state.status !== 'in') throw new ApiError('not logged in', 'UNAUTHENTICATED', null);
    const key = state.key;
    try {
      return await post(AUTHENTICATED_PATH, doc, variables, key);
    } catch (err) {
      if (!(err instanceof ApiError) || err.code !== 'UNAUTHENTICATED' || tries > 0) {
        if (err instanceof ApiError) emitPortalEvent('ERROR', { code: err.code, message: err.message, requestId: err.requestId });
        throw err;
      }
      if (state.status === 'in' && state.key === key) expire();
    }
  }
}

/**
 * Raw access for the GraphQL Builder: sends the body as written, with the session key in
 * extensions.sessionKey, and answers Herald's JSON whatever it holds (GraphiQL shows errors
 * itself). An ended session waits for the login dialog, like every other request.
 */
export async function rawAuthenticated(body: {
  query: string;
  variables?: unknown;
  operationName?: string | null;
  extensions?: Record<string, unknown>;
}): Promise<unknown> {
  for (let tries = 0; ; tries++) {
    if (state.status === 'expired') await new Promise<void>((resolve, reject) => waiting.push({ resolve, reject }));
    if (state.status !== 'in') throw new ApiError('not logged in', 'UNAUTHENTICATED', null);
    const key = state.key;
    const res = await fetch(AUTHENTICATED_PATH, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, extensions: { ...body.extensions, sessionKey: key } }),
    });
    const json = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
    const ended = json.errors?.some((e) => e.extensions?.code === 'UNAUTHENTICATED');
    if (!ended || tries > 0) return json;
    if (state.status === 'in' && state.key === key) expire();
  }
}
