import type { IncomingMessage, ServerResponse } from 'node:http';
import { Headers } from '@sandboxd/protocol';
import type { ActivityMetrics } from './activity-metrics.js';
import { commandScanner, executionScanner } from './stream-scan.js';

/** Sees the upstream response of one proxied exchange before it is piped to the client. */
export type ResponseTap = (upstream: IncomingMessage) => void;

/**
 * Times one execution or command from now to the close of the client's response and counts it
 * by how its stream ended. Only a 2xx answer (an accepted one) is counted. The tap listens to the
 * upstream body beside the pipe (a `data` listener added in the same tick), so it never changes
 * how it flows.
 */
export function trackActivity(metrics: ActivityMetrics, kind: 'execution' | 'command', res: ServerResponse): ResponseTap {
  const started = performance.now();
  return (upstream) => {
    const status = upstream.statusCode ?? 0;
    if (status < 200 || status >= 300) return;
    const contentType = String(upstream.headers['content-type'] ?? '');
    const scanner = kind === 'execution' ? executionScanner() : commandScanner(contentType.includes('proto') ? 'proto' : 'json');
    upstream.on('data', (chunk: Buffer) => scanner.push(chunk));
    res.once('close', () => {
      const seconds = (performance.now() - started) / 1000;
      const outcome = scanner.outcome(upstream.complete && res.writableFinished);
      if (kind === 'command') metrics.observeCommand(outcome, seconds);
      else {
        const language = upstream.headers[Headers.executionLanguage];
        metrics.observeExecution(typeof language === 'string' ? language : undefined, outcome, seconds);
      }
    });
  };
}
