import { useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.js';
import { SCOPES, createKey, listKeys, revokeKey, type ApiKeyInfo } from '../api/keys.js';
import { ErrorLine, Loading } from './bits.js';
import { usePoll } from './use-poll.js';

const quotaText = (q: ApiKeyInfo['quota']): string =>
  [
    q.maxSandboxes !== undefined ? `${q.maxSandboxes} sandboxes` : '',
    q.maxTimeoutSec !== undefined ? `timeout ≤ ${q.maxTimeoutSec} s` : '',
    q.maxMemoryMB !== undefined ? `${q.maxMemoryMB} MiB` : '',
  ]
    .filter((s) => s !== '')
    .join(', ') || '-';

/** API keys (`/keys`, admin keys only): the list, a new key (shown once) and revoke. */
export function KeysPage({ api }: { api: ApiClient }) {
  const polled = usePoll((signal) => listKeys(api, { signal }), 10_000, [api]);
  const [error, setError] = useState<unknown>(undefined);
  const [created, setCreated] = useState<(ApiKeyInfo & { key: string }) | undefined>(undefined);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>(['sandboxes:create', 'sandboxes:use', 'sandboxes:read']);
  const [maxSandboxes, setMaxSandboxes] = useState('');

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(undefined);
    try {
      const limit = maxSandboxes.trim() === '' ? undefined : Number(maxSandboxes);
      setCreated(await createKey(api, { name: name.trim() || 'dashboard', scopes, ...(limit !== undefined ? { quota: { maxSandboxes: limit } } : {}) }));
      setName('');
      polled.refresh();
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (id: string) => {
    setError(undefined);
    try {
      await revokeKey(api, id);
      polled.refresh();
    } catch (err) {
      setError(err);
    }
  };
  const toggle = (scope: string) => setScopes((s) => (s.includes(scope) ? s.filter((x) => x !== scope) : [...s, scope]));

  return (
    <>
      <h1>API keys</h1>
      <Loading what="Key management" data={polled.data} error={polled.error}>
        {(keys) => (
          <>
            <section class="panel">
              <h2>New key</h2>
              <form class="new-key" data-testid="new-key-form" onSubmit={(e) => void submit(e)}>
                <input aria-label="Name" placeholder="name" value={name} onInput={(e) => setName(e.currentTarget.value)} />
                {SCOPES.map((scope) => (
                  <label key={scope}>
                    <input type="checkbox" name="scope" value={scope} checked={scopes.includes(scope)} onChange={() => toggle(scope)} /> {scope}
                  </label>
                ))}
                <input aria-label="Max sandboxes" placeholder="max sandboxes" inputMode="numeric" value={maxSandboxes} onInput={(e) => setMaxSandboxes(e.currentTarget.value)} />
                <button type="submit">Create</button>
              </form>
              {created && (
                <p data-testid="created-key">
                  Key <span class="mono">{created.id}</span> ({created.name}): <code data-testid="new-key">{created.key}</code>{' '}
                  <span class="muted">shown this once: copy it now.</span>
                </p>
              )}
              <ErrorLine error={error} />
            </section>
            <table class="list" data-testid="keys">
              <thead>
                <tr>
                  <th>Key</th>
                  <th>Name</th>
                  <th>Mask</th>
                  <th>Scopes</th>
                  <th>Quota</th>
                  <th>Created</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {keys.map((k) => (
                  <tr key={k.id} data-key-id={k.id} class={k.revokedAt !== null ? 'revoked' : undefined}>
                    <td class="mono">{k.id}</td>
                    <td>{k.name}</td>
                    <td class="mono">{k.mask}</td>
                    <td>{k.scopes.join(', ')}</td>
                    <td>{quotaText(k.quota)}</td>
                    <td>{k.createdAt}</td>
                    <td data-col="action">
                      {k.revokedAt === null ? (
                        <button type="button" class="danger small" onClick={() => void revoke(k.id)}>
                          Revoke
                        </button>
                      ) : (
                        <span class="muted">revoked</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </>
        )}
      </Loading>
    </>
  );
}
