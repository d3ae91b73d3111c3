import { access, constants } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Code, ConnectError } from '@connectrpc/connect';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { Filesystem, Process } from '@sandboxd/protocol';
import type { AgentConfig } from '@sandboxd/protocol';
import { createXattrMetadataStore } from '../files/metadata.js';
import { WatcherRegistry } from '../files/watcher-registry.js';
import type { Logger } from '../logger.js';
import { ProcessManager } from '../process/process-manager.js';
import { DEFAULT_PATH } from '../process/spawn-plan.js';
import { createUserDb } from '../users/user-db.js';
import { passesTokenGate, UNAUTHORIZED_MESSAGE } from './access.js';
import type { EnvdDeps } from './deps.js';
import { createLoopbackForwarder } from './loopback-forward.js';
import { sendError } from './rest/reply.js';
import { installSafetyNet } from './safety-net.js';
import { createRestHandler } from './rest/router.js';
import { createFilesystemService } from './rpc/filesystem-service.js';
import { createProcessService } from './rpc/process-service.js';

export interface EnvdServerOptions {
  config: AgentConfig;
  logger: Logger;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Aborting it shuts the server down (same as `close()`). */
  signal?: AbortSignal;
  /** Directory holding passwd/group (tests). */
  etcDir?: string;
}

export interface EnvdServer {
  readonly port: number;
  readonly url: string;
  /** Ends in-flight streams, stops accepting, signals running processes, and resolves when closed. */
  close(): Promise<void>;
}

/** HTTP keep-alive idle time; E2B keeps idle connections ≥ 640 s. */
const KEEP_ALIVE_MS = 650_000;
/** Largest Connect message accepted (envd's own messages are small; stdin chunks are the big ones). */
const READ_MAX_BYTES = 64 * 1024 * 1024;
/** Longest Connect-Timeout-Ms honoured: timers overflow past 2^31-1 ms and would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;
/** How long in-flight requests get to finish on shutdown before connections are cut. */
const SHUTDOWN_GRACE_MS = 3_000;

async function findSetpriv(): Promise<string | undefined> {
  for (const p of ['/usr/bin/setpriv', '/bin/setpriv']) {
    if (await access(p, constants.X_OK).then(() => true, () => false)) return p;
  }
  return undefined;
}

async function startTemplateCommand(deps: EnvdDeps, command: string): Promise<void> {
  const user = deps.users.lookup(deps.config.defaultUser);
  if (!user) {
    deps.logger.error('start command not run: the default user does not exist', { user: deps.config.defaultUser });
    return;
  }
  try {
    const proc = await deps.processes.start({ cmd: '/bin/sh', args: ['-c', command], envs: {}, cwd: deps.config.defaultWorkdir, tag: 'start-cmd' }, user, { stdin: false });
    deps.logger.info('start command started', { pid: proc.pid });
  } catch (err) {
    deps.logger.error('start command failed to start', { err });
  }
}

/** Serves the envd-compatible API (process + filesystem Connect services and /files etc.). */
export async function startEnvdServer(options: EnvdServerOptions): Promise<EnvdServer> {
  const { config, logger } = options;
  installSafetyNet(logger);
  const shutdown = new AbortController();
  const deps: EnvdDeps = {
    config,
    logger,
    users: createUserDb(options.etcDir),
    metadata: createXattrMetadataStore(logger),
    watchers: new WatcherRegistry(),
    processes: new ProcessManager({
      logger,
      spawn: {
        path: process.env['PATH'] || DEFAULT_PATH,
        sandboxEnv: config.envVars,
        agentUid: process.getuid?.() ?? 0,
        setprivPath: await findSetpriv(),
      },
    }),
  };
  const routes = (router: ConnectRouter): void => {
    router.service(Process, createProcessService(deps));
    router.service(Filesystem, createFilesystemService(deps));
  };
  const rest = createRestHandler(deps);
  const connectHandler = connectNodeAdapter({
    routes,
    // Served over HTTP/1.1 only, so the request is always an IncomingMessage.
    fallback: (req, res) => rest(req as IncomingMessage, res as ServerResponse),
    shutdownSignal: shutdown.signal,
    jsonOptions: { ignoreUnknownFields: true },
    // envd never compresses RPC messages; the SDKs' HTTP stacks send Accept-Encoding on their own.
    acceptCompression: [],
    readMaxBytes: READ_MAX_BYTES,
    maxTimeoutMs: MAX_TIMEOUT_MS,
  });
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_MS, requestTimeout: 0, headersTimeout: 60_000 }, (req, res) => {
    // A write after end or a reset socket must not surface as an unlistened 'error' event.
    res.on('error', (err) => logger.warn('response stream error', { method: req.method, url: req.url, err: err.message }));
    const pathname = (req.url ?? '/').split('?')[0] ?? '/';
    if (!passesTokenGate(req, pathname, config.accessToken)) {
      logger.warn('request without a valid access token', { method: req.method, path: pathname });
      req.resume();
      sendError(res, 401, UNAUTHORIZED_MESSAGE);
      return;
    }
    connectHandler(req, res);
  });
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  // The daemon's route to servers bound to the sandbox's loopback (CONNECT, daemon secret only).
  const loopback = createLoopbackForwarder({ secret: config.loopbackSecret, logger: logger.child({ route: 'loopback-forward' }) });
  server.on('connect', loopback.onConnect);
  // Unparsable HTTP (bad chunk framing, oversized headers): answered with envd's error shape
  // where nothing was sent yet, as Node's default handler would answer it, then the socket is dropped.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    const started = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (err.code !== 'ECONNRESET' && socket.writable && !started) {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const body = JSON.stringify({ code: status, message: `malformed HTTP request: ${err.code ?? err.message}` });
      socket.end(
        `HTTP/1.1 ${status} ${status === 431 ? 'Request Header Fields Too Large' : status === 408 ? 'Request Timeout' : 'Bad Request'}\r\n` +
          `Content-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
      );
    } else {
      socket.destroy();
    }
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // A template's start command (E2B's setStartCmd) runs as the default user once the API is up.
  if (config.startCmd) await startTemplateCommand(deps, config.startCmd);
  const port = (server.address() as AddressInfo).port;
  const host = options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      shutdown.abort(new ConnectError('agent is shutting down', Code.Unavailable));
      deps.watchers.closeAll();
      deps.processes.signalAll('SIGTERM');
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      loopback.closeAll();
      const timer = setTimeout(() => server.closeAllConnections(), SHUTDOWN_GRACE_MS);
      await closed;
      clearTimeout(timer);
    })();
    return closing;
  };
  if (options.signal) {
    if (options.signal.aborted) await close();
    else options.signal.addEventListener('abort', () => void close(), { once: true });
  }
  return { port, url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, close };
}
