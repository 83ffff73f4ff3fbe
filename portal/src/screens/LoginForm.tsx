import { useId, useState, type FormEvent } from 'react';
import { type Enrolment, type Environment, logIn } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';
import { Enrol } from './Enrol';

/**
 * Email, password and the second factor: the words of the contract (Email, Password,
 * Authentication code, Log in). Used by the login screen and, after a session ended, by the dialog
 * that logs the same person in again over the screen they were on. A person with no authenticator
 * yet (created to enrol at the first login) leaves the code empty, and sets one up next (Enrol).
 */
export function LoginForm({
  environment,
  email: knownEmail,
  lockEnvironment = false,
}: {
  environment: Environment;
  email?: string;
  lockEnvironment?: boolean;
}) {
  const id = useId();
  const [email, setEmail] = useState(knownEmail ?? '');
  const [password, setPassword] = useState('');
  const [code, setCode] = useState('');
  const [recovery, setRecovery] = useState(false);
  const [env, setEnv] = useState<Environment>(environment);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [enrolment, setEnrolment] = useState<{ enrolment: Enrolment; environment: Environment } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const outcome = await logIn({ email, password, code, recovery, environment: env });
      if (outcome.enrolment) {
        setEnrolment(outcome);
        setPassword('');
        setCode('');
        setBusy(false);
      }
    } catch (err) {
      setError(err);
      setCode('');
      setBusy(false);
    }
  };

  if (enrolment)
    return (
      <Enrol
        enrolment={enrolment.enrolment}
        environment={enrolment.environment}
        onRestart={() => {
          setEnrolment(null);
          setError(undefined);
        }}
      />
    );

  return (
    <form className="login-form" onSubmit={submit}>
      <label htmlFor={`${id}-email`}>Email</label>
      <input id={`${id}-email`} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
      <label htmlFor={`${id}-password`}>Password</label>
      <input
        id={`${id}-password`}
        type="password"
        autoComplete="current-password"
        required
        value={password}
        onChange={(e) => setPassword(e.target.value)}
      />
      {recovery ? (
        <>
          <label htmlFor={`${id}-code`}>Recovery code</label>
          <input
            id={`${id}-code`}
            autoComplete="off"
            required
            value={code}
            onChange={(e) => setCode(e.target.value)}
            placeholder="xxxx-xxxx-xxxx-xxxx"
          />
        </>
      ) : (
        <>
          <label htmlFor={`${id}-code`}>Authentication code</label>
          <input
            id={`${id}-code`}
            inputMode="numeric"
            autoComplete="one-time-code"
            pattern="[0-9 ]{6,7}"
            value={code}
            onChange={(e) => setCode(e.target.value)}
            aria-describedby={`${id}-code-hint`}
          />
          <small id={`${id}-code-hint`}>
            The six digits your authenticator app shows for Herald. First login with no app set up yet? Leave it empty: you set one up next.
          </small>
        </>
      )}
      <button
        type="button"
        className="link-button"
        onClick={() => {
          setRecovery(!recovery);
          setCode('');
        }}
      >
        {recovery ? 'Use the authenticator app instead' : 'Lost your authenticator? Use a recovery code'}
      </button>
      {!lockEnvironment && (
        <>
          <label htmlFor={`${id}-env`}>Environment</label>
          <select id={`${id}-env`} value={env} onChange={(e) => setEnv(e.target.value as Environment)}>
            <option value="SANDBOX">Sandbox</option>
            <option value="PRODUCTION">Production</option>
          </select>
        </>
      )}
      <ErrorNote error={error} />
      <button type="submit" className="primary" disabled={busy}>
        {busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>
  );
}
