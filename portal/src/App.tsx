import { lazy, Suspense, useEffect, useState } from 'react';
import { graphql } from './api/graphql';
import { ApiError } from './api/client';
import { logOut, request, useSession, type Viewer } from './api/session';
import { navigate, useLocation } from './router';
import { chooseTenant, useChosenTenant } from './tenant';
import { Login } from './screens/Login';
import { SessionExpired } from './screens/SessionExpired';
import { Webhooks } from './screens/Webhooks';
import { Users } from './screens/Users';
import { CustomerPage } from './screens/CustomerPage';
import { Reports } from './screens/Reports';
import { Logs } from './screens/Logs';
import { Sources } from './screens/Sources';
import { Team } from './screens/Team';
import { AuditLog } from './screens/AuditLog';
import { ApiKeys } from './screens/ApiKeys';
import { ErrorNote } from './ui/ErrorNote';
import { Link } from './ui/Link';
import { TenantPicker, type TenantChoice } from './ui/TenantPicker';

// The Builder (GraphiQL and its editor) is megabytes: loaded only when opened.
const Builder = lazy(() => import('./screens/Builder'));

// The top bar's tenant: the remembered one looked up by id (it may be anywhere in a long list), or
// else the newest of the person's own.
const TENANT = graphql(`
  query RememberedTenant($id: ID!) {
    tenant(id: $id) {
      id
      uid
      name
    }
  }
`);
const FIRST_TENANTS = graphql(`
  query FirstTenants {
    tenants(first: 20) {
      nodes {
        id
        uid
        name
      }
    }
  }
`);

const SCREENS = [
  { path: '/webhooks', name: 'Webhooks' },
  { path: '/logs', name: 'Logs' },
  { path: '/users', name: 'Users' },
  { path: '/reports', name: 'Reports' },
  { path: '/sources', name: 'Sources' },
  { path: '/builder', name: 'GraphQL Builder' },
] as const;

/** Operators only: the people and API keys of the environment, and the audit log. */
const OPERATOR_SCREENS = [
  { path: '/team', name: 'Team' },
  { path: '/keys', name: 'API keys' },
  { path: '/audit', name: 'Audit log' },
] as const;

export function App() {
  const session = useSession();
  if (session.status === 'out') return <Login environment={session.environment} />;
  return (
    <>
      <Shell viewer={session.viewer} />
      {session.status === 'expired' && <SessionExpired viewer={session.viewer} />}
    </>
  );
}

function Shell({ viewer }: { viewer: Viewer }) {
  const { path } = useLocation();
  const chosen = useChosenTenant();
  const operator = viewer.role === 'OPERATOR';
  // A tenant session names no tenant: the server applies its own.
  const tenant = operator ? chosen : null;

  useEffect(() => {
    if (path === '/') navigate('/webhooks', { replace: true });
  }, [path]);
  useEffect(() => {
    const screen = [...SCREENS, ...OPERATOR_SCREENS].find((s) => path.startsWith(s.path));
    document.title = screen ? `${screen.name} · Herald` : 'Herald';
  }, [path]);

  const needsTenant = operator && !tenant && !['/builder', '/team', '/keys', '/audit'].some((p) => path.startsWith(p));
  const screens = operator ? [...SCREENS, ...OPERATOR_SCREENS] : SCREENS;
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <span className="brand">
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{' '}
          Herald
        </span>
        <nav aria-label="Main">
          <ul>
            {screens.map((s) => (
              <li key={s.path}>
                <Link to={s.path} aria-current={path.startsWith(s.path) ? 'page' : undefined}>
                  {s.name}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div className="whoami">
          {operator ? <TopTenantPicker chosen={chosen} /> : <span className="tenant-name">Tenant {viewer.tenant?.uid}</span>}
          <span
            className={`env env-${viewer.environment.toLowerCase()}`}
            title="Sessions are bound to one environment: log out and in again to change it"
          >
            {viewer.environment === 'SANDBOX' ? 'Sandbox' : 'Production'}
          </span>
          <span className="user" title={viewer.role === 'OPERATOR' ? 'Operator' : 'Tenant user'}>
            {viewer.username}
          </span>
          <button type="button" onClick={() => void logOut()}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" className="content">
        {needsTenant ? (
          <section>
            <h1>Pick a tenant</h1>
            <p>
              You are an operator: Webhooks, Logs, Users, Reports and Sources show one tenant. Choose it with Tenant at the top. Team, API
              keys, Audit log and the GraphQL Builder need none.
            </p>
          </section>
        ) : (
          <Screen path={path} tenant={tenant} viewer={viewer} />
        )}
      </main>
    </div>
  );
}

function Screen({ path, tenant, viewer }: { path: string; tenant: string | null; viewer: Viewer }) {
  // Keyed by tenant: switching tenants starts each screen afresh.
  const k = tenant ?? 'own';
  if (path.startsWith('/webhooks')) return <Webhooks key={k} tenant={tenant} />;
  if (path.startsWith('/logs')) return <Logs key={k} tenant={tenant} />;
  if (path.startsWith('/sources')) return <Sources key={k} tenant={tenant} />;
  if (viewer.role === 'OPERATOR' && path.startsWith('/team')) return <Team />;
  if (viewer.role === 'OPERATOR' && path.startsWith('/keys')) return <ApiKeys />;
  if (viewer.role === 'OPERATOR' && path.startsWith('/audit')) return <AuditLog />;
  if (path.startsWith('/users/'))
    return <CustomerPage key={k} tenant={tenant} customerId={decodeURIComponent(path.slice('/users/'.length))} />;
  if (path.startsWith('/users')) return <Users key={k} tenant={tenant} />;
  if (path.startsWith('/reports')) return <Reports key={k} tenant={tenant} />;
  if (path.startsWith('/builder'))
    return (
      <Suspense fallback={<p role="status">Loading the GraphQL Builder…</p>}>
        <Builder viewer={viewer} />
      </Suspense>
    );
  return (
    <section>
      <h1>Not found</h1>
      <p>
        There is no such page in the portal. <Link to="/webhooks">Go to Webhooks</Link>.
      </p>
    </section>
  );
}

function TopTenantPicker({ chosen }: { chosen: string | null }) {
  const [current, setCurrent] = useState<TenantChoice | null>(null);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    if (chosen && current && (current.id === chosen || current.uid === chosen)) return;
    let live = true;
    void (async () => {
      try {
        if (chosen) {
          try {
            const t = (await request(TENANT, { id: chosen })).tenant;
            if (!live) return;
            setCurrent(t);
            if (t.id !== chosen) chooseTenant(t.id);
            return;
          } catch (err) {
            // A remembered tenant that no longer exists is replaced below; anything else is said.
            if (!(err instanceof ApiError && err.code === 'NOT_FOUND')) throw err;
          }
        }
        // Nothing chosen yet: the newest tenant of the person's own (not Herald's operator
        // tenant, whose uid starts with "_").
        const tenants = (await request(FIRST_TENANTS, {})).tenants.nodes;
        if (!live) return;
        const first = tenants.find((t) => !t.uid.startsWith('_')) ?? tenants[0] ?? null;
        setCurrent(first);
        chooseTenant(first?.id ?? null);
      } catch (err) {
        if (live) setError(err);
      }
    })();
    return () => {
      live = false;
    };
  }, [chosen]);
  if (error) return <ErrorNote error={error} />;
  return (
    <TenantPicker
      label="Tenant"
      layout="inline"
      value={current}
      placeholder={chosen && !current ? 'Loading…' : undefined}
      onChange={(t) => {
        setCurrent(t);
        chooseTenant(t?.id ?? null);
      }}
    />
  );
}
