import type { ApiClient } from '../api/client.js';
import { getUsage } from '../api/usage.js';
import { usageView } from '../model/usage.js';
import { Loading } from './bits.js';
import { usePoll } from './use-poll.js';

/** Usage per API key as `GET /usage` answers it, refreshed every ten seconds. */
export function UsagePage({ api }: { api: ApiClient }) {
  const polled = usePoll((signal) => getUsage(api, new URLSearchParams(), { signal }), 10_000, [api]);
  return (
    <>
      <h1>Usage</h1>
      <Loading what="Usage metering" data={polled.data} error={polled.error}>
        {(body) => {
          const view = usageView(body);
          return (
            <div data-testid="usage">
              {view.summary.length > 0 && (
                <dl class="facts">
                  {view.summary.map(([k, v]) => (
                    <>
                      <dt key={`k-${k}`}>{k}</dt>
                      <dd key={`v-${k}`}>{v}</dd>
                    </>
                  ))}
                </dl>
              )}
              {view.tables.map((t) => (
                <section class="panel" key={t.title}>
                  {t.title !== '' && <h2>{t.title}</h2>}
                  {t.rows.length === 0 ? (
                    <p class="muted">No entries.</p>
                  ) : (
                    <table class="list">
                      <thead>
                        <tr>
                          {t.columns.map((c) => (
                            <th key={c}>{c}</th>
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
