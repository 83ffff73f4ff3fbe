// The GraphQL Builder: GraphiQL with its explorer plugin (tick fields to build a query), bundled
// into this lazily loaded chunk and served by Herald (no CDN; it works with no network). Every
// request carries the logged-in session's key in extensions.sessionKey, so it runs against the
// environment (and, for a tenant user, the tenant) the person is logged into.
import { explorerPlugin } from '@graphiql/plugin-explorer';
import { GraphiQL } from 'graphiql';
import 'graphiql/setup-workers/vite';
import 'graphiql/style.css';
import '@graphiql/plugin-explorer/style.css';
import { rawAuthenticated, type Viewer } from '../api/session';

const explorer = explorerPlugin();

const fetcher = async (params: { query: string; variables?: unknown; operationName?: string | null }) =>
  rawAuthenticated({ query: params.query, variables: params.variables ?? undefined, operationName: params.operationName ?? undefined });

function startQuery(viewer: Viewer): string {
  const tenantArg = viewer.tenant ? '' : '(tenant: "…")';
  return `# The GraphQL Builder. Tick fields in the Explorer (left) to build a query, or type one here,
# then run it with the ▶ button (or Ctrl-Enter). Requests carry your session key: they reach the
# ${viewer.environment === 'SANDBOX' ? 'sandbox' : 'production'} environment${viewer.tenant ? ` and tenant ${viewer.tenant.uid}` : ''}.

query Me {
  viewer { username role environment tenant { uid } }
  tenants(first: 10) { nodes { id uid name } }
}

# query Endpoints { endpoints${tenantArg} { id url eventTypes enabled } }
`;
}

export default function Builder({ viewer }: { viewer: Viewer }) {
  return (
    <section className="builder" aria-label="GraphQL Builder">
      <h1 className="visually-hidden">GraphQL Builder</h1>
      <GraphiQL
        fetcher={fetcher}
        plugins={[explorer]}
        defaultQuery={startQuery(viewer)}
        visiblePlugin={explorer}
        shouldPersistHeaders={false}
        isHeadersEditorEnabled={false}
      />
    </section>
  );
}
