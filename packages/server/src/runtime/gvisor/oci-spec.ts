import { AGENT_CONFIG_PATH } from '@sandboxd/protocol';
import type { SandboxLimits } from '../../domain/sandbox-limits.js';
import { AGENT_NODE } from './agent-image.js';
import { SANDBOX_BACKGROUND_CPU_SHARES, SANDBOX_CPU_SHARES, sandboxCpuCores } from './cpu-shares.js';

export interface OciSpecInput {
  sandboxId: string;
  /** The sandbox's root: the host overlay of the read-only template and its disk (writable-layer.ts). */
  rootfsPath: string;
  /** The sandbox's /tmp on its disk. */
  tmpDir: string;
  /** The staged agent image (read-only on the host; see agent-image.ts), mounted at /opt/sandboxd. */
  agentImage: string;
  /** Host directory with the sandbox's private files (agent.json, resolv.conf, hosts), read-only on the host. */
  runDir: string;
  netnsPath: string;
  limits: SandboxLimits;
  /** Background work (a pool refill): a low CPU weight (cpu-shares.ts). */
  background?: boolean;
}

/** The host cgroup's pids limit of a sandbox whose inside limit is `pidsLimit`. */
export const hostPidsLimit = (pidsLimit: number): number => pidsLimit * 8 + 512;

/** Where the agent code appears inside every sandbox. */
export const AGENT_MOUNT = '/opt/sandboxd';
const CPU_PERIOD_US = 100_000;

// The capability set Docker grants a container's root; gVisor's sentry enforces them, so root
// inside the sandbox (sudo included) behaves as users expect without reaching the host kernel.
const CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
  'CAP_SYS_PTRACE',
];

const bind = (source: string, destination: string): Record<string, unknown> => ({
  destination,
  type: 'bind',
  source,
  options: ['rbind', 'ro'],
});

/**
 * The OCI runtime spec (config.json) of one sandbox: tini as PID 1 reaping orphans, the agent as
 * its child on the Node.js of the agent image (never the template's), the root on the sandbox's
 * own disk over the read-only template, cgroup limits.
 */
export function buildOciSpec(input: OciSpecInput): Record<string, unknown> {
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: ['/usr/bin/tini', '-s', '-g', '--', `${AGENT_MOUNT}/${AGENT_NODE}`, `${AGENT_MOUNT}/packages/agent/dist/agent.bundle.mjs`],
      env: [
        'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        'HOME=/root',
        'LANG=C.UTF-8',
        `SANDBOXD_AGENT_CONFIG=${AGENT_CONFIG_PATH}`,
        `E2B_SANDBOX_ID=${input.sandboxId}`,
        'E2B_SANDBOX=true',
      ],
      cwd: '/',
      capabilities: {
        bounding: CAPABILITIES,
        effective: CAPABILITIES,
        permitted: CAPABILITIES,
        inheritable: CAPABILITIES,
      },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1_048_576, soft: 1_048_576 }],
      noNewPrivileges: false,
    },
    // Writable for the sandbox: every write lands on the sandbox's own disk (the overlay's upper
    // layer); the template directory itself is read-only on the host.
    root: { path: input.rootfsPath, readonly: false },
    hostname: input.sandboxId,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/tmp', type: 'bind', source: input.tmpDir, options: ['rbind', 'rw', 'nosuid', 'nodev'] },
      bind(input.agentImage, AGENT_MOUNT),
      bind(input.runDir, '/run/sandboxd'),
      bind(`${input.runDir}/resolv.conf`, '/etc/resolv.conf'),
      bind(`${input.runDir}/hosts`, '/etc/hosts'),
      bind(`${input.runDir}/hostname`, '/etc/hostname'),
    ],
    linux: {
      namespaces: [
        { type: 'pid' },
        { type: 'ipc' },
        { type: 'uts' },
        { type: 'mount' },
        { type: 'network', path: input.netnsPath },
      ],
      cgroupsPath: `/sandboxd/${input.sandboxId}`,
      resources: {
        memory: { limit: input.limits.memoryMB * 1024 * 1024 },
        // The limit users meet is gVisor's own (the agent sets it: fork fails with EAGAIN inside);
        // the host's is a backstop above it: under systrap each sandbox task costs 2-4 host tasks.
        pids: { limit: hostPidsLimit(input.limits.pidsLimit) },
        // Equal shares between sandboxes; the quota never covers the whole host (see cpu-shares.ts).
        cpu: { shares: input.background ? SANDBOX_BACKGROUND_CPU_SHARES : SANDBOX_CPU_SHARES, quota: Math.round(sandboxCpuCores(input.limits.cpuCount) * CPU_PERIOD_US), period: CPU_PERIOD_US },
      },
    },
  };
}
