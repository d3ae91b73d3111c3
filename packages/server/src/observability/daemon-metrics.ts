import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { ErrorCode } from '@sandboxd/protocol';
import type { EndReason } from '../sandboxes/sandbox-record.js';
import type { PortClass } from './port-class.js';
import { registerActivityMetrics } from './activity-metrics.js';
import type { ActivityMetrics } from './activity-metrics.js';
import { registerHostMemoryMetrics } from './host-memory-metrics.js';

/** What the collectors read of the sandbox service. */
export interface ObservedSandboxes {
  running(): Array<{ sandboxId: string; templateAlias: string; limits: { memoryMB: number } }>;
  onEnd(listener: (record: { sandboxId: string }, reason: EndReason) => void): () => void;
}

/** What they read of the metrics sampler: its newest stored reading, never a new one. */
export interface ObservedSamples {
  latest(sandboxId: string): { memUsed: number } | undefined;
  /** Cumulative CPU time at the newest stored sample, ns; undefined when the runtime does not count it. */
  cpuNanos(sandboxId: string): number | undefined;
}

export interface DaemonMetricsOptions {
  sandboxes: ObservedSandboxes;
  samples: ObservedSamples;
  /** Collect Node's default process metrics (default true). */
  processMetrics?: boolean;
}

/** Seconds buckets of a sandbox create (a cold gVisor start takes 0.5–5 s; the deadline is minutes). */
const CREATE_BUCKETS = [0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 60, 120];
/** Seconds buckets of a REST request. */
const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The daemon's Prometheus registry and the collectors the hooks feed. Gauges of sandboxes are
 * computed at scrape time from the service and the sampler, so a sandbox that ended has no series.
 */
export interface DaemonMetrics extends ActivityMetrics {
  readonly registry: Registry;
  /** Times a create of `template`; `outcome` is `ok` or the error's code. */
  observeCreate<T>(template: string, create: () => Promise<T>): Promise<T>;
  observeRequest(labels: { route: string; method: string; status: number }, seconds: number): void;
  observeProxy(port: PortClass, bytesIn: number, bytesOut: number): void;
  /** The exposition of every metric (Prometheus text format). */
  exposition(): Promise<{ contentType: string; body: string }>;
  /** Unsubscribes from the sandbox service. */
  close(): void;
}

/** Methods Node's parser accepts that a REST client uses; any other is `OTHER`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

export function createDaemonMetrics(options: DaemonMetricsOptions): DaemonMetrics {
  const { sandboxes, samples } = options;
  const registry = new Registry();
  if (options.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'sandboxd_' });

  /** Creates in flight, by template. */
  const creating = new Map<string, number>();
  new Gauge({
    name: 'sandboxd_sandboxes',
    help: 'Sandboxes by state (creating, running) and template',
    labelNames: ['state', 'template'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [template, n] of creating) if (n > 0) this.set({ state: 'creating', template }, n);
      const running = new Map<string, number>();
      for (const r of sandboxes.running()) running.set(r.templateAlias, (running.get(r.templateAlias) ?? 0) + 1);
      for (const [template, n] of running) this.set({ state: 'running', template }, n);
    },
  });
  const creates = new Counter({
    name: 'sandboxd_sandbox_creates_total',
    help: 'Sandbox creates by template and outcome (ok or the error code)',
    labelNames: ['template', 'outcome'] as const,
    registers: [registry],
  });
  const createSeconds = new Histogram({
    name: 'sandboxd_sandbox_create_duration_seconds',
    help: 'Duration of sandbox creates by template and outcome',
    labelNames: ['template', 'outcome'] as const,
    buckets: CREATE_BUCKETS,
    registers: [registry],
  });
  const ends = new Counter({
    name: 'sandboxd_sandbox_ends_total',
    help: 'Running sandboxes that ended, by reason (killed, expired, died, gone)',
    labelNames: ['reason'] as const,
    registers: [registry],
  });
  const unsubscribe = sandboxes.onEnd((_record, reason) => ends.inc({ reason }));

  const requests = new Counter({
    name: 'sandboxd_http_requests_total',
    help: 'REST API requests by route pattern, method and status class',
    labelNames: ['route', 'method', 'status_class'] as const,
    registers: [registry],
  });
  const requestSeconds = new Histogram({
    name: 'sandboxd_http_request_duration_seconds',
    help: 'REST API latency (to the response headers) by route pattern and method',
    labelNames: ['route', 'method'] as const,
    buckets: REQUEST_BUCKETS,
    registers: [registry],
  });

  const proxyRequests = new Counter({
    name: 'sandboxd_proxy_requests_total',
    help: 'Requests and upgrades of sandbox traffic by port class',
    labelNames: ['port_class'] as const,
    registers: [registry],
  });
  const proxyBytes = new Counter({
    name: 'sandboxd_proxy_bytes_total',
    help: 'Bytes of sandbox traffic on client connections by port class and direction (in: from clients, out: to them)',
    labelNames: ['port_class', 'direction'] as const,
    registers: [registry],
  });

  new Gauge({
    name: 'sandboxd_sandbox_cpu_seconds',
    help: 'CPU time a running sandbox has used, at its newest sample',
    labelNames: ['sandbox_id'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { sandboxId } of sandboxes.running()) {
        const ns = samples.cpuNanos(sandboxId);
        if (ns !== undefined) this.set({ sandbox_id: sandboxId }, ns / 1e9);
      }
    },
  });
  new Gauge({
    name: 'sandboxd_sandbox_memory_bytes',
    help: 'Memory a running sandbox uses, at its newest sample',
    labelNames: ['sandbox_id'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const { sandboxId } of sandboxes.running()) {
        const sample = samples.latest(sandboxId);
        if (sample !== undefined) this.set({ sandbox_id: sandboxId }, sample.memUsed);
      }
    },
  });

  const activity = registerActivityMetrics(registry);
  registerHostMemoryMetrics(registry, () => sandboxes.running());

  return {
    registry,
    ...activity,
    async observeCreate(template, create) {
      creating.set(template, (creating.get(template) ?? 0) + 1);
      const stop = createSeconds.startTimer();
      let outcome = 'ok';
      try {
        return await create();
      } catch (error) {
        const code = (error as { code?: unknown } | null)?.code;
        outcome = typeof code === 'string' ? code : 'error';
        throw error;
      } finally {
        creating.set(template, (creating.get(template) ?? 1) - 1);
        if (creating.get(template) === 0) creating.delete(template);
        // A name no template has is not a label value (it is the caller's to choose).
        const labels = { template: outcome === ErrorCode.TEMPLATE_NOT_FOUND ? '(unknown)' : template, outcome };
        creates.inc(labels);
        stop(labels);
      }
    },
    observeRequest({ route, method, status }, seconds) {
      const m = METHODS.has(method) ? method : 'OTHER';
      requests.inc({ route, method: m, status_class: `${Math.floor(status / 100)}xx` });
      requestSeconds.observe({ route, method: m }, seconds);
    },
    observeProxy(port, bytesIn, bytesOut) {
      proxyRequests.inc({ port_class: port });
      if (bytesIn > 0) proxyBytes.inc({ port_class: port, direction: 'in' }, bytesIn);
      if (bytesOut > 0) proxyBytes.inc({ port_class: port, direction: 'out' }, bytesOut);
    },
    async exposition() {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
    close: unsubscribe,
  };
}
