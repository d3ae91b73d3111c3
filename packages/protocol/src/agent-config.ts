import { z } from 'zod';

/**
 * What the daemon tells the agent of the sandbox it serves. Written by the daemon as JSON
 * (`AgentConfigSchema.parse` before writing) to the sandbox's private state directory, bind-mounted
 * read-only into the sandbox at `AGENT_CONFIG_PATH` and read back through the same schema by the
 * agent. Missing optional parts get safe defaults, so an agent reads a config an older daemon wrote.
 */
export const AgentConfigSchema = z.object({
  sandboxId: z.string().default(''),
  templateId: z.string().default(''),
  /** Required as X-Access-Token on envd requests (and signs /files URLs); null disables the check. */
  accessToken: z
    .string()
    .nullish()
    .transform((token) => (token ? token : null)),
  /** Sandbox-global environment variables (the create request's `envVars`). */
  envVars: z
    .record(z.string(), z.string())
    .nullish()
    .transform((env) => env ?? {}),
  /** User that runs processes when the request names none. */
  defaultUser: z.string().default('user'),
  /** Working directory of processes when the request names none (a template's WORKDIR); absent: the user's home. */
  defaultWorkdir: z
    .string()
    .nullish()
    .transform((v) => (v ? v : undefined)),
  /** Started in the background as the default user when the agent starts (a template's start command). */
  startCmd: z
    .string()
    .nullish()
    .transform((v) => (v ? v : undefined)),
  /**
   * Boot the default code-interpreter kernels (python, javascript) when the agent starts: true for
   * sandboxes created as a code-interpreter template. Otherwise they boot on the first request to
   * the code-interpreter port, so plain sandboxes spend no memory or CPU on kernels.
   */
  bootKernels: z.boolean().default(true),
  /**
   * Tasks (processes and threads) the sandbox may run, enforced by gVisor's own pids cgroup so
   * that `fork` fails with EAGAIN inside rather than the host's pids limit killing gVisor itself.
   * Absent: no limit inside.
   */
  pidsLimit: z
    .number()
    .int()
    .positive()
    .nullish()
    .transform((n) => n ?? undefined),
  /**
   * Authenticates the daemon's loopback forwards: an HTTP `CONNECT localhost:<port>` to envd's
   * port with `Proxy-Authorization: Bearer <loopbackSecret>` opens a TCP stream to a server the
   * sandbox bound to 127.0.0.1 or ::1 (`docs/architecture.md`). Random per sandbox, known to the
   * daemon and to root inside only. Absent: the route is off.
   */
  loopbackSecret: z
    .string()
    .nullish()
    .transform((secret) => (secret ? secret : undefined)),
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
  bootKernels: boolean;
  pidsLimit?: number;
  loopbackSecret?: string;
}
/** What a writer may hand to `AgentConfigSchema.parse` (defaults filled in by the schema). */
export type AgentConfigInput = z.input<typeof AgentConfigSchema>;

/** Parses an agent config; the error names the source and every field that is wrong. */
export function parseAgentConfig(value: unknown, source = 'agent config'): AgentConfig {
  const result = AgentConfigSchema.safeParse(value);
  if (result.success) return withoutUndefined(result.data satisfies Record<keyof AgentConfig, unknown>);
  const problems = result.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`);
  throw new Error(`${source}: ${problems.join('; ')}`);
}

/** Optional fields stay absent rather than present as undefined (exactOptionalPropertyTypes, JSON). */
function withoutUndefined(parsed: z.output<typeof AgentConfigSchema>): AgentConfig {
  const { pidsLimit, loopbackSecret, defaultWorkdir, startCmd, ...rest } = parsed;
  return {
    ...rest,
    ...(defaultWorkdir === undefined ? {} : { defaultWorkdir }),
    ...(startCmd === undefined ? {} : { startCmd }),
    ...(pidsLimit === undefined ? {} : { pidsLimit }),
    ...(loopbackSecret === undefined ? {} : { loopbackSecret }),
  };
}

export const AGENT_CONFIG_PATH = '/run/sandboxd/agent.json';
