import { ApiError } from '../api/client';

/** An error as the person should see it: what went wrong, what to do, and the request id to quote. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const message = error instanceof Error ? error.message : String(error);
  const requestId = error instanceof ApiError ? error.requestId : null;
  return (
    <div className="error" role="alert">
      <p>{message}</p>
      {requestId && (
        <p className="request-id">
          Request id: <code>{requestId}</code>
        </p>
      )}
    </div>
  );
}
