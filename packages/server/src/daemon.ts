import { join } from 'node:path';
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { SandboxRuntime } from './runtime/sandbox-runtime.js';
import type { TemplateStore } from './templates/template-store.js';
import { createApp, createMcpRoute } from './app.js';
import { waitSettled } from './util/settle.js';
import { createTemplateBuildService } from './templates/build-service.js';
import { createApiKeyStore } from './auth/api-keys.js';
import type { ApiKeyStore } from './auth/api-keys.js';
import { resetSocket } from './proxy/node-proxy.js';
import { createSandboxProxy } from './proxy/sandbox-proxy.js';
import { createMetricsSampler } from './sandboxes/metrics-sampler.js';
import { createDaemonMetrics } from './observability/daemon-metrics.js';
import { openMetricsListener } from './observability/metrics-route.js';
import { trackProxyExchange, trackProxyUpgrade } from './observability/proxy-traffic.js';
import { trackActivity } from './observability/execution-tracking.js';
import { assignRequestId, pathOnly, requestIdFor } from './observability/request-id.js';
import { Headers } from '@sandboxd/protocol';
import { activityOf } from './usage/executions.js';
import { registerPoolMetrics } from './observability/pool-metrics.js';
import { createWarmPool } from './pool/warm-pool.js';
import { createTemplateImages } from './pool/template-images.js';
import type { WarmPool } from './pool/warm-pool.js';
import { createSnapshotStore } from './sandboxes/snapshot-store.js';
import { createSandboxService } from './sandboxes/sandbox-service.js';
import type { SandboxService } from './sandboxes/sandbox-service.js';
import { openDatabase } from './store/database.js';
import { createSandboxRepo } from './store/sandbox-repo.js';
import { createUsageMeter } from './usage/usage-meter.js';
import { createUsageStore } from './usage/usage-store.js';
import { malformedRequest, shuttingDown } from './util/e2b-error-bodies.js';

/** One JSON log line per proxied exchange once its response closes (the path without its query). */
function logProxied(log: Logger, req: IncomingMessage, res: ServerResponse, target: { sandboxId?: string; port?: number }): void {
  const started = performance.now();
  res.once('close', () => {
    const fields = { ...target, method: req.method, path: pathOnly(req.url), status: res.statusCode, complete: res.writableFinished, ms: Math.round(performance.now() - started) };
    log.info(fields, 'proxied request');
  });
}

const urlOf = (address: AddressInfo): string =>
  `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}`;

/** How long `close()` lets MCP sessions kill their sandboxes. */
const MCP_CLOSE_GRACE_MS = 10_000;
/** How long `close()` waits for the release of sandboxes destroyed just before. */
const TEARDOWN_GRACE_MS = 15_000;
/** How long `close()` lets in-flight requests finish before it resets their connections. */
export const SHUTDOWN_GRACE_MS = 2_000;

/** Idle keep-alive of client connections (E2B uses 640 s; SDK pools keep connections long). */
export const KEEP_ALIVE_TIMEOUT_MS = 650_000;

export interface DaemonDeps {
  config: Config;
  runtime: SandboxRuntime;
  templates: TemplateStore;
  /** Where templates built through the build API live (their layers, uploads); absent: no build API. */
  templateBuildDir?: string;
  logger: Logger;
}

export interface Daemon {
  /** The one listener: REST control plane and sandbox traffic. Not listening until `listen()`. */
  readonly server: http.Server;
  readonly apiKeys: ApiKeyStore;
  readonly sandboxes: SandboxService;
  /** Warm sandboxes per template (`config.poolSizes`), claimed by creates; destroyed by `close()`. */
  readonly pool: WarmPool;
  /** Reconciles persisted sandboxes with the runtime, then listens on `config.host:config.port`. */
  listen(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<{ url: string; metricsUrl?: string }>;
  /**
   * Stops accepting, resets proxied streams and upgraded connections, drops idle connections at
   * once and the rest after `timeoutMs` (default SHUTDOWN_GRACE_MS), stops every timer and closes
   * the database. Sandboxes keep running and are adopted by the next daemon on the same `config.home`.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/**
 * Composes the daemon: SQLite state under `config.home`, API keys, sandbox lifecycle, the REST
 * app and the sandbox-traffic proxy on one HTTP server.
 *
 * @example
 * const daemon = createDaemon({ config: loadConfig(process.env), runtime, templates, logger });
 * const { url } = await daemon.listen();
 */
export function createDaemon(deps: DaemonDeps): Daemon {
  const { config, runtime, templates, logger } = deps;
  const db = openDatabase(config.home);
  const apiKeys = createApiKeyStore(db, config.apiKey);
  const templateBuilds =
    deps.templateBuildDir === undefined
      ? undefined
      : createTemplateBuildService({ runtime, builtIn: templates, dir: deps.templateBuildDir, db, logger, inUse: () => sandboxes.running().map((r) => r.rootfsPath), onBuilt: () => images?.refresh() });
  const images = config.templateSnapshots
    ? createTemplateImages({
        runtime,
        templates: templateBuilds?.templates ?? templates,
        logger: logger.child({ component: 'template-images' }),
        dir: join(config.home, 'template-images'),
        bootTimeoutMs: config.createTimeoutMs,
      })
    : undefined;
  const pool = createWarmPool({
    runtime,
    templates: templateBuilds?.templates ?? templates,
    ...(images ? { images } : {}),
    logger: logger.child({ component: 'pool' }),
    sizes: config.poolSizes,
    memoryBudgetMB: config.poolMemoryMB,
    bootTimeoutMs: config.createTimeoutMs,
  });
  const sandboxes = createSandboxService({
    runtime,
    templates: templateBuilds?.templates ?? templates,
    repo: createSandboxRepo(db),
    logger,
    createTimeoutMs: config.createTimeoutMs,
    snapshots: createSnapshotStore(join(config.home, 'snapshot-records')),
    pauseToDisk: config.pauseToDisk,
    pauseMemoryGraceMs: config.pauseMemoryGraceSec * 1000,
    pauseMinAvailableBytes: config.pauseMinAvailableMB * 2 ** 20,
    pool,
    ...(images ? { images } : {}),
  });
  const proxy = createSandboxProxy({
    domain: config.domain,
    lookup: sandboxes,
    logger,
    ...(runtime.holdTimers ? { holdTimers: (sandboxId: string) => runtime.holdTimers!(sandboxId) } : {}),
  });
  sandboxes.onEnd((record) => proxy.sandboxEnded(record.sandboxId, record.address));
  const usage = createUsageMeter({ store: createUsageStore(db), onError: (err) => logger.warn({ err }, 'recording usage failed') });
  sandboxes.onEnd((record) => usage.ended(record));
  // What the domain filter relays for a sandbox is not in its traffic counters: counted as it passes.
  runtime.onEgressRelayed?.((sandboxId, bytes, direction) => {
    const record = sandboxes.find(sandboxId);
    if (record === undefined) return;
    if (direction === 'ingress') usage.ingress(record, bytes);
    else usage.egress(record, bytes);
  });
  const metrics = createMetricsSampler({
    sandboxes,
    onError: (sandboxId, err) => logger.debug({ sandboxId, err }, 'metrics sample failed'),
    onSample: (sandboxId, sample, reading) => {
      const record = sandboxes.find(sandboxId);
      if (record === undefined) return;
      usage.observe(record, { at: sample.at, memBytes: sample.memUsed, ...(reading.cpuNanos !== undefined ? { cpuNanos: reading.cpuNanos } : {}), ...(reading.egressBytes !== undefined ? { egressBytes: reading.egressBytes } : {}), ...(reading.ingressBytes !== undefined ? { ingressBytes: reading.ingressBytes } : {}) });
    },
  });
  // A paused sandbox's connections end as a killed one's do (a restore could not carry them).
  sandboxes.onPause((record) => proxy.sandboxEnded(record.sandboxId, record.address));
  const prometheus = createDaemonMetrics({ sandboxes, samples: metrics });
  registerPoolMetrics(prometheus.registry, pool);
  /** The open `GET /metrics` listener of `config.metricsPort`, when configured. */
  const metricsServer =
    config.metricsPort === undefined ? undefined : http.createServer(openMetricsListener(prometheus, (err) => logger.warn({ err }, 'metrics exposition failed')));

  const mcp = createMcpRoute({ apiKeys, maxTimeoutSec: config.maxTimeoutSec, logger });
  const app = createApp({
    mcp,
    sandboxes,
    apiKeys,
    logger,
    domain: config.domain,
    defaultTimeoutSec: config.defaultTimeoutSec,
    maxTimeoutSec: config.maxTimeoutSec,
    metrics,
    prometheus,
    usage,
    ...(templateBuilds ? { templateBuilds } : {}),
  });
  const rest = getRequestListener(app.fetch);

  /** Every accepted connection, with the requests in flight on it (upgraded ones included). */
  const connections = new Map<Socket, Set<IncomingMessage>>();
  let closing = false;
  const shuttingDownBody = shuttingDown().body;

  const server = http.createServer(
    { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, headersTimeout: 60_000, requestTimeout: 0, noDelay: true },
    (req, res) => {
      const reqId = assignRequestId(req, res);
      const inFlight = connections.get(req.socket);
      inFlight?.add(req);
      res.once('close', () => {
        inFlight?.delete(req);
        // While closing, a connection is dropped as soon as its last exchange is done.
        if (closing && inFlight?.size === 0) req.socket.destroy();
      });
      if (closing) {
        req.resume();
        res.writeHead(503, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(shuttingDownBody), connection: 'close' });
        res.end(shuttingDownBody);
        return;
      }
      try {
        const route = proxy.route(req);
        if (route.kind === 'rest') {
          rest(req, res).catch((error: unknown) => {
            logger.error({ err: error }, 'REST handler failed');
            res.destroy();
          });
        } else {
          logProxied(logger.child({ reqId }), req, res, route.kind === 'sandbox' ? { sandboxId: route.sandboxId, port: route.port } : {});
          trackProxyExchange(prometheus, req, res, route.kind === 'sandbox' ? route.port : undefined);
          const activity = route.kind === 'sandbox' ? activityOf(req.method, route.port, req.url) : undefined;
          // An execution the sandbox accepted (its answer started with 2xx) is counted for its key.
          const executing = activity !== undefined && route.kind === 'sandbox' ? route.record : undefined;
          if (executing !== undefined) res.once('close', () => res.headersSent && res.statusCode < 300 && usage.execution(executing));
          proxy.handle(req, res, route, activity === undefined ? undefined : trackActivity(prometheus, activity, res));
        }
      } catch (error) {
        // Nothing a client sends may take the daemon down.
        logger.warn({ err: error, url: req.url }, 'request handling failed');
        if (!res.headersSent) {
          const failed = malformedRequest();
          res.writeHead(failed.status, { 'content-type': 'application/json' }).end(failed.body);
        }
        else res.destroy();
      }
    },
  );
  server.on('connection', (socket: Socket) => {
    connections.set(socket, new Set());
    socket.once('close', () => connections.delete(socket));
  });
  server.on('upgrade', (req, socket, head) => {
    req.headers[Headers.requestId] = requestIdFor(req.headers[Headers.requestId]);
    connections.get(req.socket)?.add(req);
    if (closing) {
      resetSocket(socket);
      return;
    }
    try {
      const route = proxy.route(req);
      if (route.kind !== 'rest') trackProxyUpgrade(prometheus, socket, head, route.kind === 'sandbox' ? route.port : undefined);
      proxy.upgrade(req, socket, head);
    } catch (error) {
      logger.warn({ err: error, url: req.url }, 'upgrade handling failed');
      socket.destroy();
    }
  });
  server.on('clientError', (error, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
    logger.debug({ err: error }, 'client error');
  });

  /** Destroys the connections with nothing in flight: idle keep-alive ones and ones that never sent a request. */
  const dropIdle = (): void => {
    for (const [socket, inFlight] of connections) if (inFlight.size === 0) socket.destroy();
  };
  /** Resets every connection still open and says what they were doing. */
  const dropAll = (): void => {
    if (connections.size === 0) return;
    const open = [...connections.values()].map((inFlight) => [...inFlight].map((r) => `${r.method} ${r.headers.host ?? ''}${r.url}`).join(', ') || '(no request)');
    logger.warn({ connections: open.length, open: open.slice(0, 20) }, 'shutdown: resetting client connections still open');
    for (const socket of connections.keys()) resetSocket(socket);
  };

  let closed = false;
  return {
    server,
    apiKeys,
    sandboxes,
    pool,
    async listen(options) {
      await sandboxes.start(options);
      usage.prune(sandboxes.running().map((r) => r.sandboxId));
      usage.start();
      // After the reconcile (which removes every runtime sandbox it does not know, a previous
      // daemon's pooled ones included): the pool fills in the background.
      pool.start();
      images?.start();
      metrics.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const url = urlOf(server.address() as AddressInfo);
      logger.info({ url }, 'sandboxd listening');
      if (metricsServer === undefined) return { url };
      await new Promise<void>((resolve, reject) => {
        metricsServer.once('error', reject);
        metricsServer.listen(config.metricsPort, config.metricsHost ?? config.host, () => {
          metricsServer.off('error', reject);
          resolve();
        });
      });
      const metricsUrl = `${urlOf(metricsServer.address() as AddressInfo)}/metrics`;
      logger.info({ url: metricsUrl }, 'metrics listening (no API key)');
      return { url, metricsUrl };
    },
    async close(options) {
      if (closed) return;
      closed = true;
      // MCP sessions live in this process only: they end now, killing their sandboxes through the
      // REST API, which therefore still answers until they have.
      if (mcp.handler.sessions > 0) await waitSettled(mcp.handler.close(), { timeoutMs: MCP_CLOSE_GRACE_MS });
      closing = true;
      // Pooled sandboxes are the daemon's own: they end with it (claimed ones keep running).
      const emptied = Promise.all([pool.stop({ timeoutMs: 10_000 }), images?.stop()]);
      sandboxes.stop();
      metrics.stop();
      prometheus.close();
      templateBuilds?.stop();
      runtime.stopWatching();
      if (metricsServer?.listening) {
        metricsServer.close();
        metricsServer.closeAllConnections();
      }
      // Proxied exchanges (streams, upgraded sockets) end now: the sandboxes keep running.
      proxy.close();
      if (server.listening || connections.size > 0) {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        dropIdle();
        // In-flight REST requests (a create being canceled, say) get a moment to answer.
        const graceMs = options?.timeoutMs ?? SHUTDOWN_GRACE_MS;
        const grace = setTimeout(dropAll, graceMs);
        let giveUp: NodeJS.Timeout | undefined;
        const stuck = new Promise<void>((resolve) => (giveUp = setTimeout(resolve, graceMs + 1_000)));
        await Promise.race([done, stuck]);
        clearTimeout(grace);
        clearTimeout(giveUp);
        if (connections.size > 0) logger.warn({ connections: connections.size }, 'shutdown: connections still open after the reset');
      }
      await emptied;
      // Sandboxes killed just before (or by the shutdown itself) are still being released: their
      // mounts, namespaces and firewall rules go before the daemon does.
      await runtime.settle({ timeoutMs: TEARDOWN_GRACE_MS });
      usage.stop();
      db.close();
    },
  };
}
