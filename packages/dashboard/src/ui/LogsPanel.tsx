import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiClient } from '../api/client.js';
import { sandboxLogs } from '../api/sandboxes.js';
import { formatClock } from '../model/format.js';
import { appendLogs, emptyLogState, formatFields } from '../model/logs.js';
import { ErrorLine, Section } from './bits.js';

const LOGS_POLL_MS = 2_000;

/**
 * The sandbox's log, followed live while it runs: new entries are fetched from the newest one's
 * time on. A paused sandbox keeps the entries shown so far and is not asked for more.
 */
export function LogsPanel({ api, sandboxId, live }: { api: ApiClient; sandboxId: string; live: boolean }) {
  const [logs, setLogs] = useState(emptyLogState);
  const [error, setError] = useState<unknown>(undefined);
  const cursor = useRef<number | undefined>(undefined);
  const box = useRef<HTMLPreElement>(null);

  useEffect(() => {
    cursor.current = undefined;
    setLogs(emptyLogState());
  }, [sandboxId]);

  useEffect(() => {
    setError(undefined);
    if (!live) return undefined;
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      try {
        const fresh = await sandboxLogs(api, sandboxId, cursor.current, { signal: controller.signal });
        if (controller.signal.aborted) return;
        setLogs((s) => {
          const next = appendLogs(s, fresh);
          cursor.current = next.cursorMs;
          return next;
        });
        setError(undefined);
      } catch (err) {
        if (!controller.signal.aborted) setError(err);
      }
      if (!controller.signal.aborted) timer = setTimeout(() => void tick(), LOGS_POLL_MS);
    };
    void tick();
    return () => {
      controller.abort();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [api, sandboxId, live]);

  // Stay at the bottom while the reader is there.
  const atBottom = useRef(true);
  useEffect(() => {
    const el = box.current;
    if (el && atBottom.current) el.scrollTop = el.scrollHeight;
  }, [logs]);

  return (
    <Section title="Logs" id="logs">
      <ErrorLine error={error} />
      {!live && <p class="muted">The sandbox is not running: its log is not followed.</p>}
      <pre
        class="logs"
        ref={box}
        data-testid="logs"
        onScroll={(e) => {
          const el = e.currentTarget;
          atBottom.current = el.scrollHeight - el.scrollTop - el.clientHeight < 24;
        }}
      >
        {logs.entries.length === 0 ? (
          <span class="muted">No log entries yet.</span>
        ) : (
          logs.entries.map((e, i) => (
            <div class={`log level-${e.level}`} key={i}>
              <span class="muted">{formatClock(e.timestamp)}</span> <span class="level">{e.level}</span> {e.message} <span class="fields">{formatFields(e.fields)}</span>
            </div>
          ))
        )}
      </pre>
    </Section>
  );
}
