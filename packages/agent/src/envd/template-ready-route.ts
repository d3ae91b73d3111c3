/**
 * envd's daemon-only `GET /template-ready?waitMs=N` (`TemplateReady` in the protocol): the state
 * of the template's start and ready commands, held up to `waitMs` while they are still starting.
 * Registered ahead of the access-token gate; the daemon secret opens it (`daemon-secret.ts`).
 */
import type { Context } from 'hono';
import { TemplateReady } from '@sandboxd/protocol';
import type { TemplateReadyState } from '@sandboxd/protocol';
import type { Logger } from '../logger.js';
import { daemonSecretCheck } from './daemon-secret.js';
import { jsonResponse } from './http-errors.js';

export type TemplateReadyHandler = (c: Context) => Promise<Response>;

export function createTemplateReadyHandler(options: {
  secret: () => string | undefined;
  state: (waitMs: number, signal: AbortSignal) => Promise<TemplateReadyState>;
  logger: Logger;
}): TemplateReadyHandler {
  const check = daemonSecretCheck(options.secret, 'template-ready', options.logger);
  return async (c) => {
    check(c.req.header('authorization'));
    const asked = Number(c.req.query('waitMs') ?? 0);
    const waitMs = Number.isFinite(asked) ? Math.min(Math.max(0, asked), TemplateReady.maxWaitMs) : 0;
    return jsonResponse(200, await options.state(waitMs, c.req.raw.signal));
  };
}
