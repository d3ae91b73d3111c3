import { request } from 'node:http';
import { Adopt, deadline, ENVD_PORT, ErrorCode, SandboxdError, TemplateReady } from '@sandboxd/protocol';
import type { OperationOptions, TemplateReadyState } from '@sandboxd/protocol';

/**
 * One `GET /template-ready?waitMs=` to the agent at `address` with the daemon secret. As the
 * health probe does, this side closes the connection once the answer is in (a close by the agent
 * leaves a TIME_WAIT connection in the sandbox's netstack, which a checkpoint refuses).
 */
function askReady(address: string, secret: string, waitMs: number, signal: AbortSignal | undefined): Promise<TemplateReadyState> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address,
        port: ENVD_PORT,
        path: `${TemplateReady.path}?waitMs=${waitMs}`,
        method: TemplateReady.method,
        agent: false,
        headers: { authorization: Adopt.authorization(secret), connection: 'keep-alive' },
        ...(signal ? { signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          req.destroy();
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) {
            try {
              return resolve(JSON.parse(text) as TemplateReadyState);
            } catch {
              // answered below as a failure
            }
          }
          reject(
            new SandboxdError(ErrorCode.RUNTIME_FAILURE, `the agent did not say whether the template is ready (${res.statusCode ?? 0}): ${text.slice(0, 300)}`),
          );
        });
      },
    );
    req.on('error', (err) => reject(signal?.aborted ? SandboxdError.from(signal.reason) : SandboxdError.from(err)));
    req.end();
  });
}

/**
 * Waits until the template's start command runs and its ready command passed in the sandbox at
 * `address` (`envd/template-start.ts` in the agent). A start command that failed, or a ready
 * command that never passed, is TEMPLATE_NOT_READY with the agent's message; the deadline is TIMEOUT.
 */
export async function waitTemplateReady(address: string, secret: string, options: OperationOptions = {}): Promise<void> {
  const { signal, dispose } = deadline(options, 'waiting for the template to be ready');
  try {
    for (;;) {
      if (signal?.aborted) throw SandboxdError.from(signal.reason);
      let answer: TemplateReadyState;
      try {
        answer = await askReady(address, secret, TemplateReady.maxWaitMs, signal);
      } catch (error) {
        throw SandboxdError.from(signal?.aborted ? signal.reason : error);
      }
      if (answer.state === 'ready') return;
      if (answer.state === 'failed') throw new SandboxdError(ErrorCode.TEMPLATE_NOT_READY, `the template is not ready: ${answer.message}`);
    }
  } finally {
    dispose();
  }
}
