/**
 * What the daemon tells the agent of the sandbox it serves. Written by the daemon as JSON to the
 * sandbox's private state directory and bind-mounted read-only into the sandbox at
 * `AGENT_CONFIG_PATH`.
 */
export interface AgentConfig {
  sandboxId: string;
  templateId: string;
  /** Required as X-Access-Token on envd requests (and signs /files URLs); null disables the check. */
  accessToken: string | null;
  /** Sandbox-global environment variables (the create request's `envVars`). */
  envVars: Record<string, string>;
  /** User that runs processes when the request names none. */
  defaultUser: string;
  /** Working directory of processes when the request names none (a template's WORKDIR); absent: the user's home. */
  defaultWorkdir?: string;
  /** Started in the background as the default user when the agent starts (a template's start command). */
  startCmd?: string;
  /**
   * Boot the default code-interpreter kernels (python, javascript) when the agent starts: true for
   * sandboxes created as a code-interpreter template. Otherwise they boot on the first request to
   * the code-interpreter port, so plain sandboxes spend no memory or CPU on kernels.
   */
  bootKernels: boolean;
  /**
   * Tasks (processes and threads) the sandbox may run, enforced by gVisor's own pids cgroup so
   * that `fork` fails with EAGAIN inside rather than the host's pids limit killing gVisor itself.
   * Absent: no limit inside.
   */
  pidsLimit?: number;
  /**
   * Authenticates the daemon's loopback forwards: an HTTP `CONNECT localhost:<port>` to envd's
   * port with `Proxy-Authorization: Bearer <loopbackSecret>` opens a TCP stream to a server the
   * sandbox bound to 127.0.0.1 or ::1 (`docs/architecture.md`). Random per sandbox, known to the
   * daemon and to root inside only. Absent: the route is off.
   */
  loopbackSecret?: string;
}

export const AGENT_CONFIG_PATH = '/run/sandboxd/agent.json';
