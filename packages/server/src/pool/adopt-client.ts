import { request } from 'node:http';
import { Adopt, ENVD_PORT, ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { AdoptRequest, AdoptResponse } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';

/**
 * Sends the agent at `address` its new identity (`POST /adopt` with the daemon secret) and
 * resolves once the agent answered that it is in force: its kernels have the new environment.
 * A refusal is RUNTIME_FAILURE with the agent's message; the deadline is TIMEOUT.
 *
 * The daemon closes the connection itself once the answer is in (as the health probe does): a
 * close by the agent (`connection: close`) would leave the connection in TIME_WAIT in the
 * sandbox's netstack for a minute, and runsc refuses to checkpoint a sandbox holding one, so a
 * claimed sandbox could not be snapshotted, forked or paused to disk in its first minute.
 */
export function adoptAgent(address: string, secret: string, identity: AdoptRequest, options: OperationOptions = {}): Promise<AdoptResponse> {
  const body = JSON.stringify(identity);
  const timeoutMs = options.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: address,
        port: ENVD_PORT,
        path: Adopt.path,
        method: Adopt.method,
        agent: false,
        headers: { authorization: Adopt.authorization(secret), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), connection: 'keep-alive' },
        ...(options.signal ? { signal: options.signal } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          clearTimeout(timer);
          req.destroy();
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) {
            try {
              return resolve(JSON.parse(text) as AdoptResponse);
            } catch {
              // answered below as a failure
            }
          }
          reject(new SandboxdError(ErrorCode.RUNTIME_FAILURE, `the agent refused the adopt (${res.statusCode ?? 0}): ${text.slice(0, 300)}`));
        });
      },
    );
    const timer = setTimeout(() => req.destroy(new SandboxdError(ErrorCode.TIMEOUT, `the agent did not adopt its identity within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(SandboxdError.from(err));
    });
    req.end(body);
  });
}
