/**
 * Loopback ports the agent's own components listen on (the code interpreter's kernels' ZeroMQ
 * ports), counted per holder: the loopback forward never opens them to the daemon's proxy, as it
 * never opens envd's and the code interpreter's ports.
 */
const held = new Map<number, number>();

/** Marks `ports` as the agent's until the returned function is called (idempotent). */
export function holdAgentPorts(ports: readonly number[]): () => void {
  for (const port of ports) held.set(port, (held.get(port) ?? 0) + 1);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const port of ports) {
      const n = (held.get(port) ?? 1) - 1;
      if (n <= 0) held.delete(port);
      else held.set(port, n);
    }
  };
}

/** Whether one of the agent's components holds `port`. */
export const isAgentPort = (port: number): boolean => held.has(port);
