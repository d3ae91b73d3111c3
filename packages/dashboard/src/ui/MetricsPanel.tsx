import type { ApiClient } from '../api/client.js';
import { metricsSeries } from '../api/sandboxes.js';
import { formatBytes, formatPercent } from '../model/format.js';
import { Chart } from './Chart.js';
import { ErrorLine, Section } from './bits.js';
import { usePoll } from './use-poll.js';

/** The window the charts show: the last 15 minutes, or since the sandbox started. */
const CHART_WINDOW_MS = 15 * 60_000;

export function MetricsPanel({ api, sandboxId, startedAt }: { api: ApiClient; sandboxId: string; startedAt: number }) {
  const polled = usePoll(
    (signal) => {
      const now = Date.now();
      const startSec = Math.floor(Math.max(startedAt, now - CHART_WINDOW_MS) / 1000);
      return metricsSeries(api, sandboxId, { startSec, endSec: Math.ceil(now / 1000) }, { signal });
    },
    5_000,
    [api, sandboxId, startedAt],
  );
  const series = polled.data ?? [];
  const memTotal = Math.max(0, ...series.map((m) => m.memTotal));
  return (
    <Section title="CPU and memory" id="metrics">
      <ErrorLine error={polled.error} />
      <div class="charts">
        <Chart name="cpu" title="CPU" samples={series.map((m) => ({ t: Date.parse(m.timestamp), v: m.cpuUsedPct }))} minYMax={100} format={formatPercent} />
        <Chart name="memory" title="Memory" samples={series.map((m) => ({ t: Date.parse(m.timestamp), v: m.memUsed }))} minYMax={memTotal || 1} format={formatBytes} />
      </div>
    </Section>
  );
}
