/**
 * envd's Connect services as universal handlers (`@connectrpc/connect`'s router), mounted on the
 * envd Hono app. Each RPC runs on Node's own request and response through connect-node's
 * universal request/response bridge, exactly as `connectNodeAdapter` would run it: streaming,
 * Connect-Timeout-Ms and error codes are Connect's own.
 */
import { Code, ConnectError, createConnectRouter } from '@connectrpc/connect';
import type { ConnectRouter } from '@connectrpc/connect';
import type { UniversalHandler } from '@connectrpc/connect/protocol';
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Context } from 'hono';
import { Filesystem, Process } from '@sandboxd/protocol';
import type { Logger } from '../logger.js';
import type { EnvdDeps } from './deps.js';
import { createFilesystemService } from './rpc/filesystem-service.js';
import { createProcessService } from './rpc/process-service.js';

/** Largest Connect message accepted (envd's own messages are small; stdin chunks are the big ones). */
const READ_MAX_BYTES = 64 * 1024 * 1024;
/** Longest Connect-Timeout-Ms honoured: timers overflow past 2^31-1 ms and would fire at once. */
const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/** The envd services on a router (also what `createRouterTransport` takes in tests). */
export function envdRoutes(deps: EnvdDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(Process, createProcessService(deps));
    router.service(Filesystem, createFilesystemService(deps));
  };
}

/** The universal handlers of the envd services, with envd's wire settings. */
export function envdHandlers(deps: EnvdDeps, shutdown: AbortSignal): UniversalHandler[] {
  const router = createConnectRouter({
    shutdownSignal: shutdown,
    jsonOptions: { ignoreUnknownFields: true },
    // envd never compresses RPC messages; the SDKs' HTTP stacks send Accept-Encoding on their own.
    acceptCompression: [],
    readMaxBytes: READ_MAX_BYTES,
    maxTimeoutMs: MAX_TIMEOUT_MS,
  });
  envdRoutes(deps)(router);
  return router.handlers;
}

/** A Hono handler running one universal handler on the Node request behind the context. */
export function nodeRpcHandler(handler: UniversalHandler, logger: Logger) {
  return (c: Context<{ Bindings: HttpBindings }>): Response => {
    const { incoming, outgoing } = c.env;
    const request = universalRequestFromNodeRequest(incoming, outgoing, undefined, undefined);
    handler(request)
      .then((response) => universalResponseToNodeResponse(response, outgoing))
      .catch((reason: unknown) => {
        if (ConnectError.from(reason).code === Code.Aborted) return;
        logger.error('rpc handler failed', { rpc: `${handler.service.typeName}/${handler.method.name}`, err: reason });
      });
    return RESPONSE_ALREADY_SENT;
  };
}
