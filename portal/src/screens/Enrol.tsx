import { useId, useState, type FormEvent } from 'react';
import { ApiError } from '../api/client';
import { completeEnrolment, type Enrolment, type Environment } from '../api/session';
import { ErrorNote } from '../ui/ErrorNote';

/**
 * A first login: the person has no authenticator yet. They scan the QR code (or type the secret),
 * confirm with the first code, then see their ten recovery codes once and continue into the
 * portal. `onRestart` goes back to the login form (the ticket lasts ten minutes).
 */
export function Enrol({ enrolment, environment, onRestart }: { enrolment: Enrolment; environment: Environment; onRestart: () => void }) {
  const id = useId();
  const [code, setCode] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<{ recoveryCodes: string[]; enter: () => Promise<unknown> } | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setDone(await completeEnrolment(enrolment, code, environment));
    } catch (err) {
      setError(err);
      setCode('');
    } finally {
      setBusy(false);
    }
  };

  if (done) {
    const enter = () => {
      setBusy(true);
      done.enter().catch((err: unknown) => {
        setError(err);
        setBusy(false);
      });
    };
    return (
      <section className="enrol" aria-labelledby={`${id}-codes`}>
        <h2 id={`${id}-codes`}>Your recovery codes</h2>
        <p>
          Each works once instead of a code from the app, if you lose it. <strong>They are shown only now:</strong> print them or keep them
          in a password manager.
        </p>
        <ul className="codes" aria-label="Recovery codes">
          {done.recoveryCodes.map((c) => (
            <li key={c}>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        <ErrorNote error={error} />
        <button type="button" className="primary" disabled={busy} onClick={enter}>
          I have kept them: continue
        </button>
      </section>
    );
  }

  const expired = error instanceof ApiError && /unknown, used or expired/.test(error.message);
  return (
    <form className="login-form enrol" onSubmit={submit} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Set up your authenticator</h2>
      <p>
        Every login needs a code from an authenticator app. Scan this QR code with one (or type the secret), then enter the code it shows.
      </p>
      <img src={enrolment.qrSvgDataUrl} alt="QR code to scan with your authenticator app" width={200} height={200} />
      <p>
        Secret for typing in: <code className="secret">{enrolment.totpSecret}</code>
      </p>
      <label htmlFor={`${id}-code`}>Authentication code</label>
      <input
        id={`${id}-code`}
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9 ]{6,7}"
        required
        value={code}
        onChange={(e) => setCode(e.target.value)}
        aria-describedby={`${id}-code-hint`}
      />
      <small id={`${id}-code-hint`}>
        The six digits the app shows for Herald. This setup works until {new Date(enrolment.expiresAt).toLocaleTimeString()}.
      </small>
      <ErrorNote error={error} />
      {expired ? (
        <button type="button" className="primary" onClick={onRestart}>
          Log in again
        </button>
      ) : (
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Confirm'}
        </button>
      )}
    </form>
  );
}
