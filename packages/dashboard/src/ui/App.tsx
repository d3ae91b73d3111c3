import { useEffect, useMemo, useState } from 'preact/hooks';
import { createApiClient, type ApiClient } from '../api/client.js';
import { parseRoute, routeHash, type Route } from '../model/route.js';
import type { KeyStore } from '../model/session.js';
import { SandboxList } from './SandboxList.js';
import { SandboxPage } from './SandboxPage.js';
import { SignIn } from './SignIn.js';
import { TemplatePage, TemplatesPage } from './TemplatesPage.js';
import { KeysPage } from './KeysPage.js';
import { UsagePage } from './UsagePage.js';

function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Signed out: the form. Signed in: the pages, with a client holding the key. */
export function App({ keys }: { keys: KeyStore }) {
  const [apiKey, setApiKey] = useState(keys.get());
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const signOut = (why?: string) => {
    keys.clear();
    setNotice(why);
    setApiKey(undefined);
  };
  if (apiKey === undefined) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={(k) => {
          keys.set(k);
          setNotice(undefined);
          setApiKey(k);
        }}
      />
    );
  }
  return <Shell apiKey={apiKey} onSignOut={signOut} />;
}

function Shell({ apiKey, onSignOut }: { apiKey: string; onSignOut: (why?: string) => void }) {
  const route = useHashRoute();
  // A key revoked while signed in: the first 401 signs out.
  const api: ApiClient = useMemo(
    () =>
      createApiClient(apiKey, async (input, init) => {
        const res = await fetch(input, init);
        if (res.status === 401) onSignOut('The daemon no longer accepts this API key. Sign in again.');
        return res;
      }),
    [apiKey],
  );
  const tab = route.page === 'sandbox' ? 'sandboxes' : route.page === 'template' ? 'templates' : route.page;
  const link = (page: 'sandboxes' | 'templates' | 'usage' | 'keys', label: string) => (
    <a href={routeHash({ page })} class={tab === page ? 'active' : undefined} aria-current={tab === page ? 'page' : undefined}>
      {label}
    </a>
  );
  return (
    <>
      <header class="top">
        <span class="brand">sandboxd</span>
        <nav>
          {link('sandboxes', 'Sandboxes')}
          {link('templates', 'Templates')}
          {link('usage', 'Usage')}
          {link('keys', 'Keys')}
        </nav>
        <button type="button" class="secondary" data-testid="signout" onClick={() => onSignOut()}>
          Sign out
        </button>
      </header>
      <main class="content">
        {route.page === 'sandboxes' && <SandboxList api={api} />}
        {route.page === 'sandbox' && <SandboxPage api={api} sandboxId={route.sandboxId} />}
        {route.page === 'templates' && <TemplatesPage api={api} />}
        {route.page === 'template' && <TemplatePage api={api} templateId={route.templateId} />}
        {route.page === 'usage' && <UsagePage api={api} />}
        {route.page === 'keys' && <KeysPage api={api} />}
      </main>
    </>
  );
}
