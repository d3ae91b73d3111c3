import { request } from 'node:http';
import { ENVD_PORT, ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';

/**
 * One `GET /health` to the agent; true on 2xx. The probe closes the connection itself once the
 * answer is in: a close by the agent (`connection: close`) would leave a TIME_WAIT connection in
 * the sandbox's netstack for a minute, and runsc refuses to checkpoint a sandbox holding one.
 */
export function probeAgent(address: string, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const headers = { connection: 'keep-alive' };
    const req = request({ host: address, port: ENVD_PORT, path: '/health', method: 'GET', agent: false, headers, timeout: timeoutMs }, (res) => {
      res.on('end', () => req.destroy());
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Polls the agent until it answers, or fails with the reason from `isDead` or a timeout. */
export async function waitForAgent(
  address: string,
  isDead: () => Promise<string | undefined>,
  options: OperationOptions = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let attempt = 0;
  while (Date.now() < deadline) {
    if (options.signal?.aborted) throw SandboxdError.from(options.signal.reason);
    if (await probeAgent(address)) return;
    if (++attempt % 10 === 0) {
      const why = await isDead();
      if (why) throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `the sandbox died while starting: ${why}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new SandboxdError(ErrorCode.TIMEOUT, `the sandbox agent did not become ready within ${options.timeoutMs ?? 60_000} ms`);
}
