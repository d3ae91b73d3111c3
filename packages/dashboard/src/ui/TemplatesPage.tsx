import { useEffect, useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.js';
import { buildStatus, listTemplates, templateWithBuilds } from '../api/templates.js';
import { buildProgress, type BuildProgress } from '../model/build-progress.js';
import { formatAge } from '../model/format.js';
import { routeHash } from '../model/route.js';
import { ErrorLine, Loading, Section, StateBadge } from './bits.js';
import { usePoll } from './use-poll.js';

const since = (iso: string | undefined) => (iso ? `${formatAge(Date.now() - Date.parse(iso))} ago` : '');

/** The daemon's templates (`GET /templates`), or what it answers when it has no such route. */
export function TemplatesPage({ api }: { api: ApiClient }) {
  const polled = usePoll((signal) => listTemplates(api, { signal }), 5_000, [api]);
  return (
    <>
      <h1>Templates</h1>
      <Loading what="Templates" data={polled.data} error={polled.error}>
        {(templates) =>
          templates.length === 0 ? (
            <p class="muted" data-testid="templates">
              No templates.
            </p>
          ) : (
            <table class="list" data-testid="templates">
              <thead>
                <tr>
                  <th>Template</th>
                  <th>Names</th>
                  <th>Build</th>
                  <th class="num">CPU</th>
                  <th class="num">Memory</th>
                  <th>Updated</th>
                </tr>
              </thead>
              <tbody>
                {templates.map((t) => (
                  <tr key={t.templateID} data-template-id={t.templateID}>
                    <td>
                      <a class="mono" href={routeHash({ page: 'template', templateId: t.templateID })}>
                        {t.templateID}
                      </a>
                    </td>
                    <td>{[...(t.names ?? []), ...(t.aliases ?? [])].filter((n, i, all) => all.indexOf(n) === i).join(', ')}</td>
                    <td>{t.buildStatus ? <StateBadge state={t.buildStatus} /> : ''}</td>
                    <td class="num">{t.cpuCount ?? ''}</td>
                    <td class="num">{t.memoryMB !== undefined ? `${t.memoryMB} MB` : ''}</td>
                    <td>{since(t.updatedAt ?? t.createdAt)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loading>
    </>
  );
}

/** One template and its builds; a build's status and log, followed while it runs. */
export function TemplatePage({ api, templateId }: { api: ApiClient; templateId: string }) {
  const polled = usePoll((signal) => templateWithBuilds(api, templateId, { signal }), 5_000, [api, templateId]);
  const [buildId, setBuildId] = useState<string | undefined>(undefined);
  const builds = [...(polled.data?.builds ?? [])].sort((a, b) => Date.parse(b.createdAt ?? '') - Date.parse(a.createdAt ?? ''));
  const shown = buildId ?? builds[0]?.buildID;
  return (
    <>
      <p class="crumbs">
        <a href={routeHash({ page: 'templates' })}>Templates</a> / <span class="mono">{templateId}</span>
      </p>
      <h1 class="mono">{templateId}</h1>
      {polled.data?.names && polled.data.names.length > 0 && <p class="muted" data-testid="template-names">{polled.data.names.join(', ')}</p>}
      <Loading what="Template" data={polled.data} error={polled.error}>
        {() => (
          <Section title="Builds" id="builds">
            {builds.length === 0 ? (
              <p class="muted">No builds.</p>
            ) : (
              <table class="list" data-testid="builds">
                <thead>
                  <tr>
                    <th>Build</th>
                    <th>Status</th>
                    <th>Started</th>
                    <th>Finished</th>
                  </tr>
                </thead>
                <tbody>
                  {builds.map((b) => (
                    <tr key={b.buildID} class={b.buildID === shown ? 'selected' : undefined}>
                      <td>
                        <a class="mono" href="#" onClick={(e) => (e.preventDefault(), setBuildId(b.buildID))}>
                          {b.buildID}
                        </a>
                      </td>
                      <td>
                        <StateBadge state={b.status} />
                      </td>
                      <td>{since(b.createdAt)}</td>
                      <td>{since(b.finishedAt)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            {shown !== undefined && <BuildLog api={api} templateId={templateId} buildId={shown} />}
          </Section>
        )}
      </Loading>
    </>
  );
}

const finished = (status: string) => status === 'ready' || status === 'error' || status === 'failed';

function BuildLog({ api, templateId, buildId }: { api: ApiClient; templateId: string; buildId: string }) {
  const [lines, setLines] = useState<string[]>([]);
  const [progress, setProgress] = useState<BuildProgress | undefined>(undefined);
  const [status, setStatus] = useState<string | undefined>(undefined);
  const [reason, setReason] = useState<string | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    let offset = 0;
    setLines([]);
    setProgress(undefined);
    const messages: string[] = [];
    setStatus(undefined);
    setReason(undefined);
    const tick = async () => {
      let done = false;
      try {
        const info = await buildStatus(api, templateId, buildId, offset, { signal: controller.signal });
        if (controller.signal.aborted) return;
        const fresh = info.logEntries?.map((e) => `${e.timestamp} ${e.level} ${e.step ? `[${e.step}] ` : ''}${e.message}`) ?? info.logs ?? [];
        offset += fresh.length;
        setLines((l) => [...l, ...fresh]);
        messages.push(...(info.logEntries?.map((e) => e.message) ?? []));
        setProgress(buildProgress(messages));
        setStatus(info.status);
        setReason(info.reason?.message);
        setError(undefined);
        done = finished(info.status);
      } catch (err) {
        if (!controller.signal.aborted) setError(err);
      }
      if (!controller.signal.aborted && !done) timer = setTimeout(() => void tick(), 2_000);
    };
    void tick();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [api, templateId, buildId]);
  return (
    <div class="build">
      <h3>
        Build <span class="mono">{buildId}</span> {status && <StateBadge state={status} />} <span class="muted">{lines.length} log lines</span>
      </h3>
      {progress && (
        <p class="build-progress" data-testid="build-progress">
          <progress max={progress.of || 1} value={status === 'ready' ? progress.of || 1 : progress.finalizing ? progress.of : Math.max(0, progress.step - 1)} />{' '}
          {status === 'ready' ? `all ${progress.of} steps done` : progress.finalizing ? `steps done, checking the start and ready commands` : `step ${progress.step} of ${progress.of}: ${progress.current}`}
        </p>
      )}
      {reason && <p class="error">{reason}</p>}
      <ErrorLine error={error} />
      <pre class="logs">{lines.join('\n') || 'No log lines yet.'}</pre>
    </div>
  );
}
