import type { Environment } from '../api/session';
import { LoginForm } from './LoginForm';

export function Login({ environment }: { environment: Environment }) {
  return (
    <main className="login-page">
      <div className="login-card">
        <h1>
          <span className="brand-mark" aria-hidden="true">
            ◆
          </span>{' '}
          Herald
        </h1>
        <p className="muted">Log in to manage your webhooks, customers and reports.</p>
        <LoginForm environment={environment} />
      </div>
    </main>
  );
}
