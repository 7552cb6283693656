import { type FormEvent, useState } from 'react';
import { type Session, signIn } from '../api.ts';
import { describe } from '../ui.tsx';

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const ssoError = new URLSearchParams(location.search).get('error');
  const [error, setError] = useState<string | undefined>(ssoError ? `Single sign-on failed: ${ssoError}` : undefined);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const session = await signIn(token.trim());
      // The token is exchanged for the session cookie and forgotten here.
      setToken('');
      history.replaceState(null, '', location.pathname);
      onSignedIn(session);
    } catch (e) {
      setError(describe(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="signin">
      <h1>Mandate console</h1>
      <form onSubmit={submit} aria-describedby="token-help">
        <label htmlFor="token">Operator token</label>
        <input id="token" name="token" type="password" autoComplete="off" spellCheck={false} value={token} onChange={(e) => setToken(e.target.value)} required />
        <p id="token-help" className="help">
          Paste an operator API token (<code>mdt_…</code>) once: it is exchanged for a session cookie and not kept by the browser.
        </p>
        <button type="submit" className="primary" disabled={busy}>
          Sign in
        </button>
      </form>
      <p className="or">or</p>
      <a className="button" href="/v1/console/login">
        Sign in with single sign-on
      </a>
      {error ? <p className="error" role="alert">{error}</p> : null}
    </main>
  );
}
