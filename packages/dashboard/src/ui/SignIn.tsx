import { useState } from 'preact/hooks';
import { ApiError } from '../api/api-error.js';
import { createApiClient } from '../api/client.js';
import { normalizeKey } from '../model/session.js';

/** The sign-in form: the key is checked with one list call, then kept in the tab's sessionStorage. */
export function SignIn({ onSignedIn, notice }: { onSignedIn: (apiKey: string) => void; notice?: string | undefined }) {
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (event: Event) => {
    event.preventDefault();
    const form = event.currentTarget as HTMLFormElement;
    const apiKey = normalizeKey((form.elements.namedItem('apiKey') as HTMLInputElement).value);
    if (apiKey === '') return setError('Enter an API key.');
    setBusy(true);
    setError(undefined);
    try {
      await createApiClient(apiKey).json('/v2/sandboxes?limit=1');
      onSignedIn(apiKey);
    } catch (err) {
      setError(err instanceof ApiError && err.status === 401 ? 'The daemon refused this API key.' : err instanceof Error ? err.message : String(err));
      setBusy(false);
    }
  };

  return (
    <main class="signin">
      <form class="panel" onSubmit={(e) => void submit(e)} autocomplete="off">
        <h1>sandboxd</h1>
        <p class="muted">Sign in with an API key of this daemon (<code>./sandboxd keys create</code>, or the key <code>./sandboxd start</code> printed).</p>
        {notice !== undefined && <p class="notice">{notice}</p>}
        <label for="apiKey">API key</label>
        <input id="apiKey" name="apiKey" type="password" placeholder="e2b_…" autocomplete="off" spellcheck={false} required />
        <button type="submit" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error !== undefined && (
          <p class="error" role="alert" data-testid="signin-error">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}
