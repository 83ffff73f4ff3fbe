import { useId, useState, type FormEvent } from 'react';
import { graphql, type ResultOf } from '../api/graphql';
import { request } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { TenantPicker, type TenantChoice } from '../ui/TenantPicker';
import { useQuery } from '../ui/useQuery';

const USERS = graphql(`
  query People($after: String) {
    users(first: 50, after: $after) {
      nodes {
        id
        email
        role
        environment
        tenant {
          uid
        }
        status
        enrolled
        createdAt
        lastLoginAt
      }
      pageInfo {
        hasNextPage
        endCursor
      }
    }
  }
`);
const CREATE = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      user {
        id
        email
      }
      totpSecret
      otpauthUri
      qrCode
      recoveryCodes
    }
  }
`);
const DISABLE = graphql(`
  mutation DisableUser($id: ID!) {
    disableUser(id: $id) {
      id
      status
    }
  }
`);
const ENABLE = graphql(`
  mutation EnableUser($id: ID!) {
    enableUser(id: $id) {
      id
      status
    }
  }
`);
const RESET = graphql(`
  mutation ResetMfa($id: ID!) {
    resetMfa(id: $id) {
      user {
        id
        email
      }
      totpSecret
      otpauthUri
      qrCode
      recoveryCodes
    }
  }
`);

type SecondFactor = ResultOf<typeof CREATE>['createUser'];
type Role = 'OPERATOR' | 'TENANT';

/** Team (operators): the people who log in to this environment; add, disable, reset a second factor. */
export function Team() {
  const id = useId();
  const users = useQuery(USERS, { after: null });
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<Role>('TENANT');
  const [tenant, setTenant] = useState<TenantChoice | null>(null);
  const [password, setPassword] = useState('');
  const [enrolAtFirstLogin, setEnrolAtFirstLogin] = useState(false);
  const [shown, setShown] = useState<SecondFactor | null>(null);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const act = async (fn: () => Promise<unknown>) => {
    setError(undefined);
    try {
      await fn();
      await users.reload();
    } catch (err) {
      setError(err);
    }
  };
  const create = (e: FormEvent) => {
    e.preventDefault();
    if (role === 'TENANT' && !tenant) {
      setError(new Error('Choose their tenant: type the start of its uid or name in Their tenant, then pick it in the list.'));
      return;
    }
    setBusy(true);
    void act(async () => {
      const r = await request(CREATE, {
        input: { email, role, tenant: role === 'TENANT' ? (tenant?.id ?? null) : null, password, enrolAtFirstLogin },
      });
      setShown(r.createUser);
      setEmail('');
      setPassword('');
    }).finally(() => setBusy(false));
  };

  return (
    <section aria-labelledby="team-title">
      <h1 id="team-title">Team</h1>
      <p className="muted">The people who log in to this environment: operators (every tenant) and tenant users (one tenant).</p>
      <ErrorNote error={users.error ?? error} />
      {shown && <SecondFactorCard made={shown} onDone={() => setShown(null)} />}
      <table className="table">
        <caption className="visually-hidden">People</caption>
        <thead>
          <tr>
            <th scope="col">Email</th>
            <th scope="col">Role</th>
            <th scope="col">Status</th>
            <th scope="col">Last login</th>
            <th scope="col">
              <span className="visually-hidden">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {(users.data?.users.nodes ?? []).map((u) => (
            <tr key={u.id}>
              <td>{u.email}</td>
              <td>
                {u.role === 'OPERATOR'
                  ? `Operator${u.environment ? ` (${u.environment.toLowerCase()} only)` : ''}`
                  : `Tenant ${u.tenant?.uid ?? ''}`}
              </td>
              <td>
                {u.status.toLowerCase()}
                {!u.enrolled && ' · sets up the authenticator at the next login'}
              </td>
              <td>{u.lastLoginAt ? new Date(u.lastLoginAt).toLocaleString() : 'never'}</td>
              <td className="row-actions">
                {u.status === 'ACTIVE' ? (
                  <button type="button" onClick={() => void act(() => request(DISABLE, { id: u.id }))}>
                    Disable<span className="visually-hidden"> {u.email}</span>
                  </button>
                ) : (
                  <button type="button" onClick={() => void act(() => request(ENABLE, { id: u.id }))}>
                    Enable<span className="visually-hidden"> {u.email}</span>
                  </button>
                )}
                <button
                  type="button"
                  onClick={() =>
                    window.confirm(
                      `Reset ${u.email}'s second factor? Their authenticator and recovery codes stop working and their sessions end.`,
                    ) && void act(async () => setShown((await request(RESET, { id: u.id })).resetMfa))
                  }
                >
                  Reset second factor<span className="visually-hidden"> of {u.email}</span>
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>

      <form className="card" onSubmit={create} aria-labelledby={`${id}-new`}>
        <h2 id={`${id}-new`}>Add a person</h2>
        <div className="field">
          <label htmlFor={`${id}-email`}>New person's email</label>
          <input id={`${id}-email`} type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor={`${id}-role`}>Role</label>
          <select id={`${id}-role`} value={role} onChange={(e) => setRole(e.target.value as Role)}>
            <option value="TENANT">Tenant user (one tenant)</option>
            <option value="OPERATOR">Operator (every tenant of this environment)</option>
          </select>
        </div>
        {role === 'TENANT' && <TenantPicker label="Their tenant" value={tenant} onChange={setTenant} hideSystem />}
        <div className="field">
          <label htmlFor={`${id}-password`}>Their first password</label>
          <input
            id={`${id}-password`}
            type="password"
            autoComplete="new-password"
            minLength={12}
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            aria-describedby={`${id}-pw-hint`}
          />
          <small id={`${id}-pw-hint`}>At least 12 characters; give it to them safely.</small>
        </div>
        <div className="field checkbox">
          <input
            id={`${id}-enrol`}
            type="checkbox"
            checked={enrolAtFirstLogin}
            onChange={(e) => setEnrolAtFirstLogin(e.target.checked)}
            aria-describedby={`${id}-enrol-hint`}
          />
          <label htmlFor={`${id}-enrol`}>To enrol at first login</label>
          <small id={`${id}-enrol-hint`}>
            They scan a QR code into their authenticator app at their first login and get their recovery codes then: nobody else sees them.
          </small>
        </div>
        <button type="submit" className="primary" disabled={busy}>
          Add person
        </button>
      </form>
    </section>
  );
}

/** The second factor of a person just added (or reset), shown once: the QR code to scan and the recovery codes. */
function SecondFactorCard({ made, onDone }: { made: SecondFactor; onDone: () => void }) {
  if (!made.qrCode || !made.totpSecret)
    return (
      <div className="card notice" role="status">
        <h2>{made.user.email} is added</h2>
        <p>They set up their authenticator app at their first login, with the password you gave them.</p>
        <button type="button" onClick={onDone}>
          Done: hide it
        </button>
      </div>
    );
  return (
    <div className="card notice" role="status">
      <h2>Second factor for {made.user.email}</h2>
      <p>Shown once. They scan the QR code with an authenticator app (or type the secret), and keep the recovery codes somewhere safe.</p>
      <img src={made.qrCode} alt={`QR code for ${made.user.email}'s authenticator`} width={180} height={180} />
      <p>
        Secret: <code className="secret">{made.totpSecret}</code>
      </p>
      <ul className="codes" aria-label="Recovery codes">
        {made.recoveryCodes.map((c) => (
          <li key={c}>
            <code>{c}</code>
          </li>
        ))}
      </ul>
      <button type="button" onClick={onDone}>
        Done: hide it
      </button>
    </div>
  );
}
