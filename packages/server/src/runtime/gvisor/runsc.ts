import { spawn } from 'node:child_process';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { OperationOptions } from '@sandboxd/protocol';
import { runCommand } from './host-command.js';

export interface RunscOptions {
  /** runsc state directory (`--root`). */
  stateDir: string;
}

export interface RunscContainer {
  id: string;
  pid: number;
  status: string;
}

export interface RunscStats {
  cpuNanos: number;
  memUsageBytes: number;
  memLimitBytes: number;
  memCacheBytes: number;
}

// runsc mistakes any network namespace for the root one when it sees
// /proc/sys/net/core/rmem_default, and then refuses `--network=sandbox`: hide it in a private
// mount namespace for the commands that touch the network.
const HIDE_PROC_SYS_NET = 'mount -t tmpfs tmpfs /proc/sys/net && exec runsc "$@"';

// Flags of every command that boots a sandbox (create, restore).
const BOOT_FLAGS = [
  '--network=sandbox',
  // The root is the host overlay of the sandbox's disk (writable-layer.ts): no gVisor overlay.
  '--overlay2=none',
  // Meant to make a checkpoint reset TCP connections instead of refusing them; runsc 20240729 does
  // not give the capability to the NIC it builds from the namespace (an endpoint on eth0 is still
  // refused with this set, measured), so the runtime checks for connections itself.
  '--net-disconnect-ok',
];

/** Runs a booting runsc command in a private mount namespace, the sandbox's console on `consoleFd`. */
function spawnWithConsole(
  what: string,
  runscArgs: string[],
  id: string,
  consoleFd: number,
  consoleTail: () => Promise<string>,
  op: OperationOptions,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('unshare', ['-m', '--propagation', 'private', 'sh', '-c', HIDE_PROC_SYS_NET, 'runsc', ...runscArgs], {
      stdio: ['ignore', consoleFd, consoleFd],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), op.timeoutMs ?? 60_000);
    const onAbort = (): void => void child.kill('SIGKILL');
    op.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      op.signal?.removeEventListener('abort', onAbort);
      if (code === 0) resolve();
      else {
        void consoleTail()
          .catch(() => '')
          .then((log) => {
            const tail = log.slice(-1500).trim();
            reject(new SandboxdError(ErrorCode.RUNTIME_FAILURE, `runsc ${what} ${id} failed (exit ${code})${tail ? `: ${tail}` : ''}`));
          });
      }
    });
  });
}

/** Thin wrapper over the runsc CLI, on the systrap platform with gVisor's own netstack. */
export function createRunsc(options: RunscOptions) {
  // SANDBOXD_RUNSC_DEBUG_DIR: runsc's own debug logs (one set per command) go there.
  const debugDir = process.env['SANDBOXD_RUNSC_DEBUG_DIR'];
  const global = ['--root', options.stateDir, '--platform=systrap', ...(debugDir ? ['--debug', `--debug-log=${debugDir}/`] : [])];
  const run = (args: string[], op: OperationOptions & { okExitCodes?: number[] } = {}) => runCommand('runsc', [...global, ...args], op);

  return {
    /**
     * `runsc create` with /proc/sys/net hidden; the container's stdout/stderr are `consoleFd`. On
     * failure, `consoleTail` (what runsc and the sandbox printed) goes into the error.
     */
    async create(id: string, bundleDir: string, consoleFd: number, consoleTail: () => Promise<string>, op: OperationOptions = {}): Promise<void> {
      await spawnWithConsole('create', [...global, ...BOOT_FLAGS, 'create', '--bundle', bundleDir, id], id, consoleFd, consoleTail, op);
    },

    /**
     * `runsc restore --detach`: a new sandbox from the image in `imageDir`, running when it
     * resolves (the same boot flags as create; the image's own network state is reset).
     */
    async restore(id: string, bundleDir: string, imageDir: string, consoleFd: number, consoleTail: () => Promise<string>, op: OperationOptions = {}): Promise<void> {
      const args = [...global, ...BOOT_FLAGS, 'restore', '--detach', `--image-path=${imageDir}`, '--bundle', bundleDir, id];
      await spawnWithConsole('restore', args, id, consoleFd, consoleTail, op);
    },

    /** `runsc pause`: every task of the sandbox stops (cgroup freezer semantics); memory stays. */
    async pause(id: string, op: OperationOptions = {}): Promise<void> {
      await run(['pause', id], op);
    },

    /** A file inside a running sandbox, read by a process `runsc exec` starts there (no network involved). */
    async readFile(id: string, path: string, op: OperationOptions = {}): Promise<string> {
      return (await run(['exec', id, 'cat', path], op)).stdout;
    },

    /** `runsc resume` of a paused sandbox. */
    async resume(id: string, op: OperationOptions = {}): Promise<void> {
      await run(['resume', id], op);
    },

    /**
     * `runsc checkpoint --leave-running`: the sandbox's memory and kernel state go to `imageDir`
     * (uncompressed: faster both ways, and the pages file can be sparse) and the sandbox carries on
     * in place (same sentry; a paused one stays paused). Measured on runsc 0.0~20240729: without
     * `--leave-running` a refused checkpoint ("endpoint cannot be saved in connected state") leaves
     * a sentry that dies on the next `runsc resume`; with it the sandbox survives the refusal.
     */
    async checkpoint(id: string, imageDir: string, op: OperationOptions = {}): Promise<void> {
      await run(['checkpoint', '--leave-running', '--compression=none', `--image-path=${imageDir}`, id], op);
    },

    /** `runsc start`, which sets the sandbox's network up, so it needs the same hidden /proc/sys/net. */
    async start(id: string, op: OperationOptions = {}): Promise<void> {
      await runCommand('unshare', ['-m', '--propagation', 'private', 'sh', '-c', HIDE_PROC_SYS_NET, 'runsc', ...global, 'start', id], op);
    },

    /**
     * Ends the sandbox at once: SIGKILL to its sentry process (gone within milliseconds; its open
     * connections reset). `remove` still has to run for the housekeeping.
     */
    async killNow(id: string, op: OperationOptions = {}): Promise<void> {
      const container = (await this.list(op)).find((c) => c.id === id);
      if (!container || container.pid <= 0) return;
      try {
        process.kill(container.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    },

    /** Kills and deletes the container. Idempotent. */
    async remove(id: string, op: OperationOptions = {}): Promise<void> {
      await run(['kill', id, 'KILL'], { ...op, okExitCodes: [0, 1, 128] });
      await run(['delete', '-force', id], { ...op, okExitCodes: [0, 1, 128] });
    },

    async list(op: OperationOptions = {}): Promise<RunscContainer[]> {
      const { stdout } = await run(['list', '-format', 'json'], op);
      const parsed = JSON.parse(stdout.trim() || '[]') as Array<{ id: string; pid: number; status: string }> | null;
      return (parsed ?? []).map(({ id, pid, status }) => ({ id, pid, status }));
    },

    async stats(id: string, op: OperationOptions = {}): Promise<RunscStats> {
      const { stdout } = await run(['events', '--stats', id], op);
      const event = JSON.parse(stdout) as {
        data?: { cpu?: { usage?: { total?: number } }; memory?: { usage?: { usage?: number; limit?: number }; cache?: number } };
      };
      return {
        cpuNanos: event.data?.cpu?.usage?.total ?? 0,
        memUsageBytes: event.data?.memory?.usage?.usage ?? 0,
        memLimitBytes: event.data?.memory?.usage?.limit ?? 0,
        memCacheBytes: event.data?.memory?.cache ?? 0,
      };
    },
  };
}

export type Runsc = ReturnType<typeof createRunsc>;
