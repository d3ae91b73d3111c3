import { listProcesses, type SandboxAccess } from '../api/envd.js';
import { formatCommand } from '../model/format.js';
import { ErrorLine, Section } from './bits.js';
import { usePoll } from './use-poll.js';

/** The processes envd started (commands, PTYs, background jobs), from its process List RPC. */
export function ProcessesPanel({ access }: { access: SandboxAccess }) {
  const polled = usePoll((signal) => listProcesses(access, { signal }), 3_000, [access.sandboxId, access.accessToken]);
  const processes = [...(polled.data ?? [])].sort((a, b) => a.pid - b.pid);
  return (
    <Section title="Processes" id="processes">
      <ErrorLine error={polled.error} />
      {polled.data === undefined ? (
        polled.error === undefined && <p class="muted">Loading processes…</p>
      ) : processes.length === 0 ? (
        <p class="muted">No processes started through envd are running.</p>
      ) : (
        <table class="list" data-testid="processes">
          <thead>
            <tr>
              <th class="num">PID</th>
              <th>Command</th>
              <th>Tag</th>
              <th>Working directory</th>
            </tr>
          </thead>
          <tbody>
            {processes.map((p) => (
              <tr key={p.pid} data-pid={p.pid}>
                <td class="num">{p.pid}</td>
                <td class="mono">{formatCommand(p.config.cmd, p.config.args)}</td>
                <td>{p.tag ?? ''}</td>
                <td class="mono">{p.config.cwd ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}
