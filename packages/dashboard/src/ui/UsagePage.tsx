import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.js';
import { getUsage } from '../api/usage.js';
import { columnLabel, usageView } from '../model/usage.js';
import { Loading } from './bits.js';
import { usePoll } from './use-poll.js';

/** Time ranges of the usage query, as `start` (unix seconds) back from now; 0: everything. */
const RANGES: Array<[label: string, seconds: number]> = [
  ['Last hour', 3600],
  ['Last 24 hours', 86_400],
  ['Last 7 days', 7 * 86_400],
  ['Everything', 0],
];

/** Usage per API key as `GET /usage` answers it, refreshed every ten seconds. */
export function UsagePage({ api }: { api: ApiClient }) {
  const [range, setRange] = useState(0);
  const polled = usePoll(
    (signal) => {
      const query = new URLSearchParams();
      if (range > 0) query.set('start', String(Math.floor(Date.now() / 1000) - range));
      return getUsage(api, query, { signal });
    },
    10_000,
    [api, range],
  );
  return (
    <>
      <h1>
        Usage
        <select aria-label="Time range" value={String(range)} onChange={(e) => setRange(Number(e.currentTarget.value))}>
          {RANGES.map(([label, seconds]) => (
            <option key={seconds} value={String(seconds)}>
              {label}
            </option>
          ))}
        </select>
      </h1>
      <Loading what="Usage metering" data={polled.data} error={polled.error}>
        {(body) => {
          const view = usageView(body);
          return (
            <div data-testid="usage">
              {view.summary.length > 0 && (
                <dl class="facts">
                  {view.summary.map(([k, v]) => (
                    <Fragment key={k}>
                      <dt>{columnLabel(k)}</dt>
                      <dd>{v}</dd>
                    </Fragment>
                  ))}
                </dl>
              )}
              {view.tables.map((t) => (
                <section class="panel" key={t.title}>
                  {t.title !== '' && <h2>{columnLabel(t.title)}</h2>}
                  {t.rows.length === 0 ? (
                    <p class="muted">No entries.</p>
                  ) : (
                    <table class="list">
                      <thead>
                        <tr>
                          {t.columns.map((c) => (
                            <th key={c}>{columnLabel(c)}</th>
                          ))}
                        </tr>
                      </thead>
                      <tbody>
                        {t.rows.map((row, i) => (
                          <tr key={i}>
                            {row.map((cell, j) => (
                              <td key={j}>{cell}</td>
                            ))}
                          </tr>
                        ))}
                      </tbody>
                    </table>
                  )}
                </section>
              ))}
            </div>
          );
        }}
      </Loading>
    </>
  );
}
