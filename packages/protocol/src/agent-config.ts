// zod/mini: the agent bundles this schema, and the classic build is most of a bundle's size.
import * as z from 'zod/mini';

/**
 * What the daemon tells the agent of the sandbox it serves: the JSON shape of `agent.json`. The
 * daemon writes it (through `parseAgentConfig`, so it never writes what the agent would refuse) to
 * the sandbox's private state directory, bind-mounted read-only into the sandbox at
 * `AGENT_CONFIG_PATH`, and the agent reads it back through `parseAgentConfig`. Missing optional
 * parts get safe defaults, so an agent reads a config an older daemon wrote.
 */
export const AgentConfigSchema = z.object({
  sandboxId: z.optional(z.string()),
  templateId: z.optional(z.string()),
  /** Required as X-Access-Token on envd requests (and signs /files URLs); null or '' disables the check. */
  accessToken: z.nullish(z.string()),
  /** Sandbox-global environment variables (the create request's `envVars`). */
  envVars: z.nullish(z.record(z.string(), z.string())),
  /** User that runs processes when the request names none (default `user`). */
  defaultUser: z.optional(z.string()),
  /** Working directory of processes when the request names none (a template's WORKDIR); absent: the user's home. */
  defaultWorkdir: z.nullish(z.string()),
  /** Started in the background as the default user when the agent starts (a template's start command). */
  startCmd: z.nullish(z.string()),
  /**
   * Run after the start command (a template's ready command, E2B's `setReadyCmd`) until it exits
   * 0; the agent answers `TemplateReady` once it has. Absent: ready once the start command runs.
   */
  readyCmd: z.nullish(z.string()),
  /**
   * Boot the default code-interpreter kernels (python, javascript) when the agent starts (default
   * true): true for sandboxes created as a code-interpreter template. Otherwise they boot on the
   * first request to the code-interpreter port, so plain sandboxes spend no memory or CPU on kernels.
   */
  bootKernels: z.optional(z.boolean()),
  /**
   * Tasks (processes and threads) the sandbox may run, enforced by gVisor's own pids cgroup so
   * that `fork` fails with EAGAIN inside rather than the host's pids limit killing gVisor itself.
   * Absent: no limit inside.
   */
  pidsLimit: z.nullish(z.int().check(z.positive())),
  /**
   * Authenticates the daemon's loopback forwards: an HTTP `CONNECT localhost:<port>` to envd's
   * port with `Proxy-Authorization: Bearer <loopbackSecret>` opens a TCP stream to a server the
   * sandbox bound to 127.0.0.1 or ::1 (`docs/architecture.md`). Random per sandbox, known to the
   * daemon and to root inside only. Absent or '': the route is off.
   */
  loopbackSecret: z.nullish(z.string()),
});

/** The agent's view of its sandbox: what `parseAgentConfig` returns (field docs on the schema). */
export interface AgentConfig {
  sandboxId: string;
  templateId: string;
  accessToken: string | null;
  envVars: Record<string, string>;
  defaultUser: string;
  defaultWorkdir?: string;
  startCmd?: string;
  readyCmd?: string;
  bootKernels: boolean;
  pidsLimit?: number;
  loopbackSecret?: string;
}
/** What a writer may hand to `parseAgentConfig` (defaults filled in). */
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;

/** Validates and normalises an agent config; the error names the source and every field that is wrong. */
export function parseAgentConfig(value: unknown, source = 'agent config'): AgentConfig {
  const result = AgentConfigSchema.safeParse(value);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
    throw new Error(`${source}: ${problems.join('; ')}`);
  }
  const v = result.data;
  return {
    sandboxId: v.sandboxId ?? '',
    templateId: v.templateId ?? '',
    accessToken: v.accessToken ? v.accessToken : null,
    envVars: v.envVars ?? {},
    defaultUser: v.defaultUser ?? 'user',
    ...(v.defaultWorkdir ? { defaultWorkdir: v.defaultWorkdir } : {}),
    ...(v.startCmd ? { startCmd: v.startCmd } : {}),
    ...(v.readyCmd ? { readyCmd: v.readyCmd } : {}),
    bootKernels: v.bootKernels ?? true,
    ...(v.pidsLimit != null ? { pidsLimit: v.pidsLimit } : {}),
    ...(v.loopbackSecret ? { loopbackSecret: v.loopbackSecret } : {}),
  };
}

export const AGENT_CONFIG_PATH = '/run/sandboxd/agent.json';
