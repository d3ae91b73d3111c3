import { CODE_INTERPRETER_PORT, ENVD_PORT } from './ports.js';

/**
 * The daemon's loopback forward: an HTTP/1.1 `CONNECT localhost:<port>` to the agent's envd port,
 * authenticated by `Proxy-Authorization: Bearer <AgentConfig.loopbackSecret>`; a 200 turns the
 * connection into a TCP stream to 127.0.0.1:<port> (or [::1]:<port>) inside the sandbox.
 */
export const LoopbackForward = {
  /** The CONNECT request target for `port`. */
  target: (port: number): string => `localhost:${port}`,
  /** The `Proxy-Authorization` value that carries the secret. */
  authorization: (secret: string): string => `Bearer ${secret}`,
  /** Ports never forwarded: the agent's own, which keep their direct path. */
  excludedPorts: [ENVD_PORT, CODE_INTERPRETER_PORT] as readonly number[],
} as const;

/** The port of a `localhost:<port>` CONNECT target, or undefined when it is anything else. */
export function parseLoopbackTarget(target: string | undefined): number | undefined {
  const match = /^localhost:(\d{1,5})$/.exec(target ?? '');
  if (match === null) return undefined;
  const port = Number(match[1]);
  return port >= 1 && port <= 65535 ? port : undefined;
}
