/**
 * envd's daemon-only `POST /adopt` as a Hono handler. `createEnvdApp` registers it before envd's
 * access-token gate, since the sandbox's token never opens it: only `Authorization: Bearer
 * <daemon secret>` (`AgentConfig.loopbackSecret`) does (401 without it, 403 with a wrong one,
 * compared in constant time). It takes POST only (other methods meet the token gate). Without a daemon secret the route answers 404. Errors are thrown as
 * `SandboxdError`s and become envd's `{code, message}` body in the app's one error handler.
 */
import type { Context } from 'hono';
import { ErrorCode, SandboxdError, parseAdoptRequest } from '@sandboxd/protocol';
import type { Logger } from '../../logger.js';
import { daemonSecretCheck } from '../daemon-secret.js';
import { jsonResponse } from '../http-errors.js';
import type { Adopter } from './adopter.js';

export interface AdoptRouteOptions {
  /**
   * `AgentConfig.loopbackSecret`, the per-sandbox daemon secret, read at each request (an adopt may
   * replace it); undefined: the route answers 404.
   */
  secret: () => string | undefined;
  adopter: Adopter;
  logger: Logger;
}

/** Largest adopt body accepted (an identity is a few KiB; env vars at most a few hundred). */
const MAX_BODY_BYTES = 1024 * 1024;

async function readBody(body: ReadableStream<Uint8Array> | null): Promise<unknown> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (body !== null) {
    for await (const chunk of body) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) throw new SandboxdError(ErrorCode.PAYLOAD_TOO_LARGE, `adopt body is over ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk);
    }
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new SandboxdError(ErrorCode.BAD_REQUEST, 'adopt body is not valid JSON');
  }
}

export type AdoptHandler = (c: Context) => Promise<Response>;

export function createAdoptHandler(options: AdoptRouteOptions): AdoptHandler {
  const { secret, adopter, logger } = options;
  const check = daemonSecretCheck(secret, 'adopt', logger);
  return async (c) => {
    check(c.req.header('authorization'));
    const result = await adopter.adopt(parseAdoptRequest(await readBody(c.req.raw.body)));
    return jsonResponse(200, result);
  };
}
