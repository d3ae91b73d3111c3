import type { ComponentChildren } from 'preact';
import { isNotAvailable } from '../api/api-error.js';

/** An error line, or nothing. */
export function ErrorLine({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  return (
    <p class="error" role="alert">
      {error instanceof Error ? error.message : String(error)}
    </p>
  );
}

/** The page body of a feature the daemon does not offer (yet): what it answered, plainly. */
export function NotAvailable({ what, error }: { what: string; error: unknown }) {
  return (
    <div class="not-available" data-testid="not-available">
      <p>
        <strong>{what}: not available on this daemon.</strong>
      </p>
      <p class="muted">{error instanceof Error ? error.message : String(error)}</p>
    </div>
  );
}

/** Loading text until the first answer, the error alone when it failed before any data. */
export function Loading<T>({ data, error, what, children }: { data: T | undefined; error: unknown; what: string; children: (data: T) => ComponentChildren }) {
  if (data !== undefined) return <>{children(data)}</>;
  if (error !== undefined) return isNotAvailable(error) ? <NotAvailable what={what} error={error} /> : <ErrorLine error={error} />;
  return <p class="muted">Loading {what.toLowerCase()}…</p>;
}

export function StateBadge({ state }: { state: string }) {
  return <span class={`badge state-${state.replace(/[^a-z]/gi, '')}`}>{state}</span>;
}

export function Section({ title, children, id }: { title: string; id: string; children: ComponentChildren }) {
  return (
    <section class="panel" id={id} aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>{title}</h2>
      {children}
    </section>
  );
}
