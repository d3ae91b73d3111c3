import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { SandboxRuntime } from './runtime/sandbox-runtime.js';
import type { TemplateStore } from './templates/template-store.js';
import { createApp } from './app.js';
import { createApiKeyStore } from './auth/api-keys.js';
import type { ApiKeyStore } from './auth/api-keys.js';
import { createSandboxProxy } from './proxy/sandbox-proxy.js';
import { createSandboxService } from './sandboxes/sandbox-service.js';
import type { SandboxService } from './sandboxes/sandbox-service.js';
import { openDatabase } from './store/database.js';
import { createSandboxRepo } from './store/sandbox-repo.js';

/** Idle keep-alive of client connections (E2B uses 640 s; SDK pools keep connections long). */
export const KEEP_ALIVE_TIMEOUT_MS = 650_000;

export interface DaemonDeps {
  config: Config;
  runtime: SandboxRuntime;
  templates: TemplateStore;
  logger: Logger;
}

export interface Daemon {
  /** The one listener: REST control plane and sandbox traffic. Not listening until `listen()`. */
  readonly server: http.Server;
  readonly apiKeys: ApiKeyStore;
  readonly sandboxes: SandboxService;
  /** Reconciles persisted sandboxes with the runtime, then listens on `config.host:config.port`. */
  listen(options?: { signal?: AbortSignal; timeoutMs?: number }): Promise<{ url: string }>;
  /**
   * Stops listening, resets proxied streams and closes the database. Sandboxes keep running and
   * are adopted by the next daemon started on the same `config.home`.
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
  const sandboxes = createSandboxService({
    runtime,
    templates,
    repo: createSandboxRepo(db),
    logger,
    createTimeoutMs: config.createTimeoutMs,
  });
  const proxy = createSandboxProxy({ domain: config.domain, lookup: sandboxes, logger });
  sandboxes.onEnd((record) => proxy.sandboxEnded(record.sandboxId, record.address));

  const app = createApp({
    sandboxes,
    apiKeys,
    logger,
    domain: config.domain,
    defaultTimeoutSec: config.defaultTimeoutSec,
    maxTimeoutSec: config.maxTimeoutSec,
  });
  const rest = getRequestListener(app.fetch);

  const server = http.createServer(
    { keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS, headersTimeout: 60_000, requestTimeout: 0, noDelay: true },
    (req, res) => {
      try {
        const route = proxy.route(req);
        if (route.kind === 'rest') {
          rest(req, res).catch((error: unknown) => {
            logger.error({ err: error }, 'REST handler failed');
            res.destroy();
          });
        } else proxy.handle(req, res, route);
      } catch (error) {
        // Nothing a client sends may take the daemon down.
        logger.warn({ err: error, url: req.url }, 'request handling failed');
        if (!res.headersSent) res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 400, message: 'malformed request' }));
        else res.destroy();
      }
    },
  );
  server.on('upgrade', (req, socket, head) => {
    try {
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

  let closed = false;
  return {
    server,
    apiKeys,
    sandboxes,
    async listen(options) {
      await sandboxes.start(options);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const address = server.address() as AddressInfo;
      const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      const url = `http://${host}:${address.port}`;
      logger.info({ url }, 'sandboxd listening');
      return { url };
    },
    async close(options) {
      if (closed) return;
      closed = true;
      sandboxes.stop();
      runtime.stopWatching();
      proxy.close();
      if (server.listening) {
        const done = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        const grace = setTimeout(() => server.closeAllConnections(), options?.timeoutMs ?? 5_000);
        await done;
        clearTimeout(grace);
      }
      db.close();
    },
  };
}
