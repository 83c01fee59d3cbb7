// Sign in / sign up. A failed sign-in shows the API's generic message; a 429 shows a live
// countdown from Retry-After and keeps the button disabled until it reaches zero. With
// two-factor sign-in on, a correct password asks for the code next.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, completeMfa, signIn, signUp } from '../api.ts';
import { navigate } from '../router.ts';
import { errorText } from '../ui.tsx';

export function AuthPage({ mode }: { mode: 'signin' | 'signup' }) {
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [wait, setWait] = useState(0);
  const [busy, setBusy] = useState(false);
  const [mfaToken, setMfaToken] = useState<string | undefined>(undefined);
  const [code, setCode] = useState('');

  useEffect(() => {
    if (wait <= 0) return;
    const timer = setTimeout(() => setWait((w) => w - 1), 1000);
    return () => clearTimeout(timer);
  }, [wait]);

  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      if (mfaToken !== undefined) await completeMfa(mfaToken, code.trim());
      else if (mode === 'signup') await signUp(email, password);
      else {
        const challenge = await signIn(email, password);
        if (challenge !== undefined) {
          setMfaToken(challenge.mfaToken);
          return;
        }
      }
      navigate('/');
    } catch (e) {
      // A block shows the live countdown in place of the API's fixed "Try again in N s.".
      if (e instanceof ApiError && e.problem.status === 429 && e.retryAfter !== undefined) {
        setWait(e.retryAfter);
        setError(undefined);
      } else setError(errorText(e));
    } finally {
      setBusy(false);
    }
  };

  const title = mode === 'signin' ? 'Sign in' : 'Create an account';
  return (
    <main class="auth" id="main">
      <h1>FinanceHub</h1>
      <form onSubmit={(e) => void submit(e)} class="card" aria-label={title}>
        <h2>{title}</h2>
        <label>
          Email
          <input type="email" name="email" autocomplete="username" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />
        </label>
        <label>
          Password
          <input
            type="password"
            name="password"
            autocomplete={mode === 'signin' ? 'current-password' : 'new-password'}
            required
            minLength={mode === 'signup' ? 10 : 1}
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {mfaToken !== undefined && (
          <label>
            Two-factor code (or a recovery code)
            <input name="code" autocomplete="one-time-code" required maxLength={32} value={code} onInput={(e) => setCode(e.currentTarget.value)} />
          </label>
        )}
        {mode === 'signup' && <p class="hint">At least 10 characters and hard to guess.</p>}
        {error !== undefined && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {wait > 0 && (
          <p class="countdown" role="status" aria-live="polite">
            Too many attempts. Try again in <strong data-testid="retry-seconds">{wait}</strong> s.
          </p>
        )}
        <button type="submit" disabled={busy || wait > 0}>
          {title}
        </button>
        <p>
          {mode === 'signin' ? (
            <>
              New here? <a href="/signup">Create an account</a>
            </>
          ) : (
            <>
              Have an account? <a href="/signin">Sign in</a>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
