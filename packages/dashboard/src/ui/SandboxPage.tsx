import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, isNotAvailable } from '../api/api-error.js';
import type { ApiClient } from '../api/client.js';
import { getSandbox, killSandbox, pauseSandbox, resumeSandbox } from '../api/sandboxes.js';
import type { SandboxDetail } from '../api/types.js';
import { formatAge, formatBytes } from '../model/format.js';
import { routeHash } from '../model/route.js';
import { ErrorLine, Loading, StateBadge } from './bits.js';
import { FilesPanel } from './FilesPanel.js';
import { LogsPanel } from './LogsPanel.js';
import { MetricsPanel } from './MetricsPanel.js';
import { ProcessesPanel } from './ProcessesPanel.js';
import { usePoll } from './use-poll.js';

/** One sandbox: its details, actions, CPU/memory charts, logs, processes and files. */
export function SandboxPage({ api, sandboxId }: { api: ApiClient; sandboxId: string }) {
  const polled = usePoll((signal) => getSandbox(api, sandboxId, { signal }), 3_000, [api, sandboxId]);
  const gone = polled.error instanceof ApiError && polled.error.status === 404;
  return (
    <>
      <p class="crumbs">
        <a href={routeHash({ page: 'sandboxes' })}>Sandboxes</a> / <span class="mono">{sandboxId}</span>
      </p>
      {gone ? (
        <p class="notice" data-testid="sandbox-gone">
          Sandbox <span class="mono">{sandboxId}</span> is gone (killed or timed out).
        </p>
      ) : (
        <Loading what="Sandbox" data={polled.data} error={polled.error}>
          {(detail) => <SandboxBody api={api} detail={detail} refresh={polled.refresh} />}
        </Loading>
      )}
    </>
  );
}

function SandboxBody({ api, detail, refresh }: { api: ApiClient; detail: SandboxDetail; refresh: () => void }) {
  const access = { sandboxId: detail.sandboxID, accessToken: detail.envdAccessToken };
  const running = detail.state === 'running';
  return (
    <>
      <h1 class="mono">
        {detail.sandboxID} <StateBadge state={detail.state} />
      </h1>
      <Actions api={api} detail={detail} refresh={refresh} />
      <dl class="facts">
        <dt>Template</dt>
        <dd>{detail.alias ?? detail.templateID}</dd>
        <dt>Started</dt>
        <dd title={detail.startedAt}>{formatAge(Date.now() - Date.parse(detail.startedAt))} ago</dd>
        <dt>Ends</dt>
        <dd title={detail.endAt}>{Date.parse(detail.endAt) > Date.now() ? `in ${formatAge(Date.parse(detail.endAt) - Date.now())}` : 'now'}</dd>
        <dt>Limits</dt>
        <dd>
          {detail.cpuCount} CPU, {formatBytes(detail.memoryMB * 1024 * 1024)} memory{detail.diskSizeMB ? `, ${formatBytes(detail.diskSizeMB * 1024 * 1024)} disk` : ''}
        </dd>
        {Object.entries(detail.metadata ?? {}).map(([k, v]) => (
          <Fragment key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </Fragment>
        ))}
      </dl>
      <MetricsPanel api={api} sandboxId={detail.sandboxID} startedAt={Date.parse(detail.startedAt)} />
      <LogsPanel api={api} sandboxId={detail.sandboxID} live={running} />
      {running ? (
        <>
          <ProcessesPanel access={access} />
          <FilesPanel access={access} />
        </>
      ) : (
        <p class="muted">Processes and files are shown while the sandbox runs.</p>
      )}
    </>
  );
}

/** Kill (asks once more), and pause or resume as the sandbox's state allows. */
function Actions({ api, detail, refresh }: { api: ApiClient; detail: SandboxDetail; refresh: () => void }) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const run = async (what: string, action: () => Promise<unknown>, after: () => void) => {
    setBusy(what);
    setError(undefined);
    try {
      await action();
      after();
    } catch (err) {
      setError(isNotAvailable(err) ? new Error(`${what} is not supported by this daemon yet (${(err as Error).message}).`) : err);
    } finally {
      setBusy(undefined);
      setConfirming(false);
    }
  };
  const id = detail.sandboxID;
  return (
    <div class="actions">
      {detail.state === 'running' && (
        <button type="button" class="secondary" data-testid="pause" disabled={busy !== undefined} onClick={() => void run('Pausing', () => pauseSandbox(api, id), refresh)}>
          {busy === 'Pausing' ? 'Pausing…' : 'Pause'}
        </button>
      )}
      {detail.state === 'paused' && (
        <button type="button" class="secondary" data-testid="resume" disabled={busy !== undefined} onClick={() => void run('Resuming', () => resumeSandbox(api, id), refresh)}>
          {busy === 'Resuming' ? 'Resuming…' : 'Resume'}
        </button>
      )}
      {confirming ? (
        <>
          <button type="button" class="danger" data-testid="kill-confirm" disabled={busy !== undefined} onClick={() => void run('Killing', () => killSandbox(api, id), () => (location.hash = routeHash({ page: 'sandboxes' })))}>
            {busy === 'Killing' ? 'Killing…' : 'Kill it now'}
          </button>
          <button type="button" class="secondary" onClick={() => setConfirming(false)}>
            Keep it
          </button>
        </>
      ) : (
        <button type="button" class="danger" data-testid="kill" onClick={() => setConfirming(true)}>
          Kill
        </button>
      )}
      <ErrorLine error={error} />
    </div>
  );
}
