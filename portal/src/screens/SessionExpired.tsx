import { useEffect, useRef } from 'react';
import { abandonSession, type Viewer } from '../api/session';
import { LoginForm } from './LoginForm';

/**
 * Shown over the current screen when the session has ended: the screen (and any half-filled form)
 * stays underneath, and what it was sending goes through once the person has logged in again.
 */
export function SessionExpired({ viewer }: { viewer: Viewer }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);
  return (
    <dialog ref={ref} className="dialog" aria-labelledby="expired-title" onCancel={(e) => e.preventDefault()}>
      <h2 id="expired-title">Your session has ended</h2>
      <p>Sessions last 20 minutes. Log in again to carry on where you were; nothing on this screen is lost.</p>
      <LoginForm environment={viewer.environment} email={viewer.username} lockEnvironment />
      <button type="button" className="link-button" onClick={abandonSession}>
        Log out instead
      </button>
    </dialog>
  );
}
