import type { ApiClient } from '../api/client.js';
import { latestMetrics, listSandboxes } from '../api/sandboxes.js';
import { formatAge, formatBytes, formatPercent } from '../model/format.js';
import { routeHash } from '../model/route.js';
import { ErrorLine, Loading, StateBadge } from './bits.js';
import { usePoll } from './use-poll.js';

const LIST_POLL_MS = 2_000;

/** Every sandbox of the daemon with its latest CPU and memory, refreshed every two seconds. */
export function SandboxList({ api }: { api: ApiClient }) {
  const polled = usePoll(
    async (signal) => {
      const sandboxes = await listSandboxes(api, { signal });
      const metrics = await latestMetrics(api, sandboxes.map((s) => s.sandboxID), { signal }).catch(() => ({}) as Record<string, never>);
      return { sandboxes, metrics, now: Date.now() };
    },
    LIST_POLL_MS,
    [api],
  );
  return (
    <>
      <h1>Sandboxes {polled.data && <span class="count" data-testid="sandbox-count">{polled.data.sandboxes.length}</span>}</h1>
      {polled.data !== undefined && <ErrorLine error={polled.error} />}
      <Loading what="Sandboxes" data={polled.data} error={polled.error}>
        {({ sandboxes, metrics, now }) =>
          sandboxes.length === 0 ? (
            <p class="muted" data-testid="no-sandboxes">No sandboxes are running.</p>
          ) : (
            <table class="list" data-testid="sandbox-table">
              <thead>
                <tr>
                  <th>Sandbox</th>
                  <th>State</th>
                  <th>Template</th>
                  <th>Age</th>
                  <th class="num">CPU</th>
                  <th class="num">Memory</th>
                  <th>Metadata</th>
                </tr>
              </thead>
              <tbody>
                {sandboxes.map((s) => {
                  const m = metrics[s.sandboxID];
                  return (
                    <tr key={s.sandboxID} data-sandbox-id={s.sandboxID}>
                      <td>
                        <a href={routeHash({ page: 'sandbox', sandboxId: s.sandboxID })} class="mono">
                          {s.sandboxID}
                        </a>
                      </td>
                      <td data-col="state">
                        <StateBadge state={s.state} />
                      </td>
                      <td>{s.alias ?? s.templateID}</td>
                      <td data-col="age">{formatAge(now - Date.parse(s.startedAt))}</td>
                      <td class="num" data-col="cpu">
                        {m ? formatPercent(m.cpuUsedPct) : '–'} <span class="muted">of {s.cpuCount}</span>
                      </td>
                      <td class="num" data-col="memory">
                        {m ? formatBytes(m.memUsed) : '–'} <span class="muted">of {formatBytes(s.memoryMB * 1024 * 1024)}</span>
                      </td>
                      <td class="meta">
                        {Object.entries(s.metadata ?? {}).map(([k, v]) => (
                          <span class="tag" key={k}>
                            {k}={v}
                          </span>
                        ))}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          )
        }
      </Loading>
    </>
  );
}
