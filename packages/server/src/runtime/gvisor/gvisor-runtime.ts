import { existsSync } from 'node:fs';
import { access, readdir, rm, rmdir, stat } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { ErrorCode, SandboxdError, deadline } from '@sandboxd/protocol';
import type { ExecOptions, ExecSpec, KnownSandbox, PauseTier, RuntimeMetrics, RuntimeSandbox, SandboxRuntime, SandboxSpec, SnapshotImage } from '../sandbox-runtime.js';
import type { EgressPolicy } from '../../domain/egress-policy.js';
import type { OperationOptions } from '@sandboxd/protocol';
import { runCommand } from './host-command.js';
import { checkSnapshotVersions, commitSnapshot, diskBytes, listSnapshotIds, prepareSnapshot, readSnapshotVersions, removePartialSnapshots, removeSnapshot, snapshotPaths, type SnapshotVersions } from './snapshot-images.js';
import { parseOpenConnections, type OpenConnection } from './open-connections.js';
import { clearStopped, commitImage, discardImages, hasImage, imagePaths, isStopped, markStopped, preparePartialImage, summariseCheckpointError } from './pause-image.js';
import { HOST_IFACE_PREFIX, slotAddresses, type SlotAddresses } from './address-plan.js';
import { createSlotClaims } from './slot-claims.js';
import { probeAgent, waitForAgent } from './agent-health.js';
import { createEgressCounterReader, ensureUsageTable, linkEgressCounter, removeEgressCounter } from './egress-counters.js';
import { ALWAYS_DENIED_V4, allowSandboxEgress, allowedDomains, ensureBaseRuleset, listFirewallSlots, removeSandboxEgress, replaceSandboxEgress } from './egress-firewall.js';
import { startDomainProxy } from '../../egress/domain-proxy.js';
import { ipv4InAny } from '../../egress/ipv4-ranges.js';
import { readHostFacts, sandboxResolvConf } from './host-facts.js';
import { composeTrust, createHostTrustReader, createTemplateTrustReader, DEBIAN_HOST_TRUST, type HostTrustSources } from './host-trust.js';
import { TEMPLATE_OWN_CA_BUNDLE } from '../sandbox-trust-paths.js';
import { stageAgentImage } from './agent-image.js';
import { pruneAgentImages } from './agent-image-prune.js';
import { openAgentLog, readAgentLog, readTail } from './agent-log.js';
import { createExitWatch, processIdentity, type ProcessIdentity } from './exit-watch.js';
import { ensureReadOnlyBind, releaseMount } from './read-only-mount.js';
import { buildOciSpec } from './oci-spec.js';
import { readCgroupCpuNanosSync, readCgroupUsage } from './cgroup-usage.js';
import { createIdleTimers, DEFAULT_IDLE_TIMER_SLACK_MS } from './idle-timers.js';
import { setProcessTimerSlack } from './timer-slack.js';
import { ensureSandboxesParentShares, SANDBOX_CPU_SHARES, setSandboxCpuShares } from './cpu-shares.js';
import { ensureHostPidSpace } from './host-pid-space.js';
import { createRunsc } from './runsc.js';
import { createSandboxNetwork, destroySandboxNetwork, readdressSandboxNetwork, resetHostConnections, listSandboxHostIfaces, listSandboxNamespaces } from './sandbox-network.js';
import { runscExec } from './sandbox-exec.js';
import { setRestoredHostname } from './restored-hostname.js';
import { copyFrozenDisk, layerTmpDir, layerUpperDir, mountWritableLayer, unmountWritableLayer, writableLayerUsage } from './writable-layer.js';
import { waitSettled } from '../../util/settle.js';
import { startPhaseTimer } from '../../util/phase-timer.js';
import { readRecord, readRecords, removeSandboxFiles, sandboxPaths, writeRecord, writeSandboxFiles, type RuntimeRecord } from './sandbox-files.js';

export interface GvisorRuntimeOptions {
  /** State directory (SANDBOXD_HOME). */
  home: string;
  /** The sandboxd checkout holding the built agent; sandboxes get a read-only copy of what the agent needs. */
  agentRoot: string;
  /** Host-wide directory of staged agent images, one per content hash (default /var/lib/sandboxd-agent). */
  agentImagesDir?: string;
  /** How often sandboxes' gVisor processes are checked for an exit (default 250 ms). */
  exitPollMs?: number;
  /** How long a sandbox may take from `runsc create` to a healthy agent. */
  startTimeoutMs?: number;
  /** Host-wide network slot registry (tests point it elsewhere). */
  slotClaimsDir?: string;
  /** Told about each connection the domain filter decides on. */
  onEgressEvent?: (event: { sourceAddress: string; host: string | null; port: number; verdict: string; reason?: string }) => void;
  /** What the host trusts, handed to every new sandbox (default: the Debian locations). */
  hostTrust?: HostTrustSources;
  /**
   * Told about failures of work a caller does not wait for: `cleanup` after `destroy` has returned
   * (the next start retries it) or `metering` (the usage counters: the sandbox runs unmetered).
   */
  onBackgroundError?: (sandboxId: string, error: unknown, what: 'cleanup' | 'metering') => void;
  /**
   * Timer slack of an idle sandbox's gVisor threads, milliseconds (default 50; 0 leaves the
   * kernel's 50 µs): see idle-timers.ts.
   */
  idleTimerSlackMs?: number;
}

const CGROUP_CONTROLLERS_ROOT = '/sys/fs/cgroup';
const DEFAULT_AGENT_IMAGES_DIR = '/var/lib/sandboxd-agent';

/**
 * The real runtime: one gVisor (runsc, systrap) container per sandbox, its own network namespace
 * and veth, an nftables egress chain, cgroup limits, and a size-capped writable layer over the
 * read-only template root.
 */
export async function createGvisorRuntime(options: GvisorRuntimeOptions): Promise<SandboxRuntime> {
  const sandboxesDir = join(options.home, 'sandboxes');
  // One runsc state directory per sandbox: runsc serialises container creation with a lock on its
  // root directory, which a shared root would make every create wait on the ~1 s `runsc delete`
  // of the sandbox killed just before.
  const runscOf = (sandboxId: string) => createRunsc({ stateDir: sandboxPaths(sandboxesDir, sandboxId).runscDir });
  // Sandboxes started before per-sandbox roots live in the shared one.
  const sharedRunsc = createRunsc({ stateDir: join(options.home, 'runsc') });
  const listContainers = async (op: OperationOptions = {}) => {
    const names = await readdir(sandboxesDir).catch(() => [] as string[]);
    const lists = await Promise.all([sharedRunsc, ...names.map((id) => runscOf(id))].map((r) => r.list(op).catch(() => [])));
    return lists.flat();
  };
  const facts = await readHostFacts();
  // The daemon outweighs all sandboxes together on the CPU.
  await ensureSandboxesParentShares().catch(() => undefined);
  // Sandboxes' host tasks must not exhaust the host's pids.
  await ensureHostPidSpace().catch(() => undefined);
  const agentImagesDir = options.agentImagesDir ?? DEFAULT_AGENT_IMAGES_DIR;
  let agentImage = await stageAgentImage(options.agentRoot, agentImagesDir);
  // Images of earlier builds that no running sandbox (of any daemon here) uses take ~300 MB each.
  void pruneAgentImages(agentImagesDir, agentImage).catch(() => undefined);
  /** The agent image, staged again if another daemon pruned it while this one had no sandbox on it. */
  const currentAgentImage = async (op: OperationOptions): Promise<string> => {
    if (!existsSync(join(agentImage, '.complete'))) agentImage = await stageAgentImage(options.agentRoot, agentImagesDir, op);
    return agentImage;
  };
  // Template roots made read-only on the host kernel (once per root per daemon).
  const readOnlyRoots = new Map<string, Promise<void>>();
  const readOnlyRoot = (path: string, op: OperationOptions): Promise<void> => {
    let pending = readOnlyRoots.get(path);
    if (!pending) {
      pending = ensureReadOnlyBind(path, op);
      pending.catch(() => readOnlyRoots.delete(path));
      readOnlyRoots.set(path, pending);
    }
    return pending;
  };
  const exitListeners = new Set<(sandboxId: string) => void>();
  const exits = createExitWatch((sandboxId) => {
    for (const listener of exitListeners) listener(sandboxId);
  }, options.exitPollMs ?? 250);
  const idleSlackMs = options.idleTimerSlackMs ?? DEFAULT_IDLE_TIMER_SLACK_MS;
  const idleTimers =
    idleSlackMs > 0
      ? createIdleTimers({
          idleSlackNs: Math.round(idleSlackMs * 1e6),
          readCpuNanos: (sandboxId) => readCgroupCpuNanosSync(join('sandboxd', sandboxId)),
          setSlack: (pid, slackNs) => void setProcessTimerSlack(pid, slackNs),
        })
      : undefined;
  /** Precise timers until released: for traffic, and for the runtime's own work on a sandbox (runsc talks to its sentry). */
  const holdTimers = (sandboxId: string): (() => void) => idleTimers?.hold(sandboxId) ?? (() => undefined);
  /** An operation of the runtime on the sandbox its first argument names, with precise timers throughout. */
  const withPreciseTimers =
    <A extends [string, ...unknown[]], R>(work: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const release = holdTimers(args[0]);
      try {
        return await work(...args);
      } finally {
        release();
      }
    };
  /** The exit watch and the idle timers follow the same process: the sandbox's sentry. */
  const watching = {
    watch(sandboxId: string, identity: ProcessIdentity): void {
      exits.watch(sandboxId, identity);
      idleTimers?.track(sandboxId, identity.pid);
    },
    unwatch(sandboxId: string): void {
      exits.unwatch(sandboxId);
      idleTimers?.untrack(sandboxId);
    },
  };
  /** Watches the sandbox's gVisor process (the sentry); false when it is not running. */
  const watchSandbox = async (sandboxId: string, op: OperationOptions = {}): Promise<boolean> => {
    const container = (await runscOf(sandboxId).list(op).catch(() => [])).find((c) => c.id === sandboxId);
    const live = container !== undefined && (container.status === 'running' || container.status === 'paused') && container.pid > 0;
    const identity = live ? processIdentity(container.pid) : undefined;
    if (!identity) return false;
    watching.watch(sandboxId, identity);
    return true;
  };
  const resolvConf = sandboxResolvConf(facts.resolvers);
  // Read again for each sandbox (cached while nothing changed): the host's CAs as they are now.
  const hostTrust = createHostTrustReader(options.hostTrust ?? DEBIAN_HOST_TRUST);
  const templateTrust = createTemplateTrustReader(TEMPLATE_OWN_CA_BUNDLE);
  void hostTrust().catch(() => undefined); // the first read (~300 files) before the first sandbox
  // The domain filter for `allowOut` names: sandbox address → its allowed names.
  const allowedNames = new Map<string, string[]>();
  /** Sandbox address → its id, for the domain filter's relayed bytes. */
  const sandboxAt = new Map<string, string>();
  const relayListeners = new Set<(sandboxId: string, bytes: number, direction: 'egress' | 'ingress') => void>();
  const deniedUpstream = [...ALWAYS_DENIED_V4, ...facts.hostSubnets];
  const domainProxy = await startDomainProxy({
    domainsFor: (source) => allowedNames.get(source),
    isDeniedAddress: (ip) => ipv4InAny(ip, deniedUpstream),
    onEvent: (event) => options.onEgressEvent?.(event),
    onRelayed: (sourceAddress, bytes, direction) => {
      const sandboxId = sandboxAt.get(sourceAddress);
      if (sandboxId !== undefined) for (const listener of relayListeners) listener(sandboxId, bytes, direction === 'out' ? 'egress' : 'ingress');
    },
  });
  const redirect = { httpPort: domainProxy.httpPort, tlsPort: domainProxy.tlsPort };
  /** Applies a sandbox's egress policy: its firewall chains and what the domain filter lets through. */
  const rememberNames = (net: SlotAddresses, egress: EgressPolicy): void => {
    const names = allowedDomains(egress);
    if (names.length > 0) allowedNames.set(net.sandboxAddress, names);
    else allowedNames.delete(net.sandboxAddress);
  };
  const claims = createSlotClaims(options.home, options.slotClaimsDir);
  const lastCpuSample = new Map<string, { at: number; cpuNanos: number }>();
  const readEgress = createEgressCounterReader();
  // Housekeeping of destroyed sandboxes that is still running (runsc delete alone takes ~1 s).
  const pendingTeardowns = new Map<string, Promise<void>>();

  async function teardown(sandboxId: string, slot: number | undefined, op: OperationOptions): Promise<void> {
    watching.unwatch(sandboxId);
    await runscOf(sandboxId).remove(sandboxId, op);
    await sharedRunsc.remove(sandboxId, op).catch(() => undefined);
    if (slot !== undefined) {
      allowedNames.delete(slotAddresses(slot).sandboxAddress);
      if (sandboxAt.get(slotAddresses(slot).sandboxAddress) === sandboxId) sandboxAt.delete(slotAddresses(slot).sandboxAddress);
      await removeSandboxEgress(slot, op);
      await removeEgressCounter(slot, op);
      await destroySandboxNetwork(slotAddresses(slot), op);
      claims.release(slot);
    }
    await removeCgroups(sandboxId);
    await unmountWritableLayer(sandboxPaths(sandboxesDir, sandboxId), op);
    await releaseMount(sandboxPaths(sandboxesDir, sandboxId).runDir, op);
    await removeSandboxFiles(sandboxesDir, sandboxId);
    lastCpuSample.delete(sandboxId);
  }

  /** The newest `maxBytes` of a sandbox's console log. */
  async function consoleTail(sandboxId: string, maxBytes: number): Promise<string> {
    const paths = sandboxPaths(sandboxesDir, sandboxId);
    const lines = await readAgentLog(paths.logDir, maxBytes).catch(() => undefined);
    return lines ? lines.join('\n') : readTail(paths.legacyLogPath, maxBytes);
  }

  async function deathReason(sandboxId: string): Promise<string | undefined> {
    const container = (await runscOf(sandboxId).list().catch(() => [])).find((c) => c.id === sandboxId);
    if (container && container.status === 'running') return undefined;
    const log = await consoleTail(sandboxId, 2000);
    return `container ${container?.status ?? 'gone'}; agent log: ${log.trim() || '(empty)'}`;
  }

  async function containerStatus(sandboxId: string, op: OperationOptions = {}): Promise<string | undefined> {
    return (await runscOf(sandboxId).list(op).catch(() => [])).find((c) => c.id === sandboxId)?.status;
  }

  /**
   * runsc 20240729 refuses to checkpoint a sandbox while a TCP endpoint on its eth0 is connected
   * (established, close-wait, handshaking; TIME_WAIT ones were saved, measured), and a refusal
   * freezes the receive queues of the endpoints it got to. So: the frozen sandbox runs for a moment
   * (no traffic reaches a paused one), the host's own sockets to it are reset (a connection still
   * in the agent's accept queue has no file descriptor, so /proc/net/tcp does not list it), and it
   * is frozen again once its programs have closed what the host dropped. Connections it keeps open
   * mean no checkpoint: it stays frozen in memory, unharmed.
   */
  async function settleConnections(sandboxId: string, address: string, op: OperationOptions): Promise<void> {
    const runsc = runscOf(sandboxId);
    await runsc.resume(sandboxId, op);
    try {
      await awaitNoConnections(sandboxId, address, 'it stays paused in memory', op);
    } finally {
      await runsc.pause(sandboxId, op);
    }
  }

  /**
   * With the sandbox running: resets the host's own sockets to it and waits (up to 3 s) until its
   * /proc/net/tcp lists no connected endpoint; RUNTIME_FAILURE (ending with `consequence`) if not.
   */
  async function awaitNoConnections(sandboxId: string, address: string, consequence: string, op: OperationOptions): Promise<void> {
    const runsc = runscOf(sandboxId);
    let open: OpenConnection[] = [];
    await resetHostConnections(address, op);
    for (let attempt = 0; attempt < 20; attempt++) {
      open = parseOpenConnections(await runsc.readFile(sandboxId, '/proc/net/tcp', op));
      if (open.length === 0) return;
      await new Promise((r) => setTimeout(r, 150));
    }
    const list = open.map((c) => `${c.local}↔${c.remote} (state ${c.state})`).join(', ');
    throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `sandbox "${sandboxId}" keeps TCP connections open (${list}); ${consequence}`);
  }

  let runscVersion: string | undefined;
  /** The runsc and agent a snapshot written now records (a restore needs the same two). */
  async function currentVersions(op: OperationOptions): Promise<SnapshotVersions> {
    runscVersion ??= (await runCommand('runsc', ['--version'], op)).stdout.split('\n')[0]?.trim() ?? 'unknown';
    return { runsc: runscVersion, agentImage: basename(await currentAgentImage(op)) };
  }

  /** Drops a partial image (a crash or a refusal mid-checkpoint); the complete one stays. */
  async function rmImagePartial(dir: string): Promise<void> {
    await rm(imagePaths(dir).partial, { recursive: true, force: true }).catch(() => undefined);
  }

  /** Boots a sandbox: fresh (`runsc create` + `start`), or restored from a snapshot's image. */
  async function boot(spec: SandboxSpec, options_: OperationOptions, fromSnapshot?: string): Promise<RuntimeSandbox> {
    // One deadline for the whole creation: every step gets the same signal, none a timeout of its own.
    const { signal, dispose } = deadline(options_, `creating sandbox ${spec.sandboxId}`);
    const op: OperationOptions = signal ? { signal } : {};
    const slot = claims.claim();
    const net = slotAddresses(slot);
    const record: RuntimeRecord = { sandboxId: spec.sandboxId, slot, address: net.sandboxAddress, egress: spec.egress };
    const paths = sandboxPaths(sandboxesDir, spec.sandboxId);
    const { phases, lap } = startPhaseTimer();
    try {
      for (const lower of spec.rootfsPath.split(':')) await readOnlyRoot(lower, op);
      const snapshot = fromSnapshot === undefined ? undefined : snapshotPaths(options.home, fromSnapshot);
      await mountWritableLayer(paths, spec.rootfsPath, spec.limits.diskSizeMB, op, snapshot?.diskImage);
      lap('layerMs');
      await createSandboxNetwork(net, op);
      lap('networkMs');
      sandboxAt.set(net.sandboxAddress, spec.sandboxId);
      rememberNames(net, spec.egress);
      await allowSandboxEgress(net, spec.egress, { ...op, redirect });
      // Metering only: a sandbox starts without its egress counted rather than not at all.
      await linkEgressCounter(net, true, op).catch((error: unknown) => options.onBackgroundError?.(spec.sandboxId, error, 'metering'));
      lap('firewallMs');
      const ociSpec = buildOciSpec({
        sandboxId: spec.sandboxId,
        rootfsPath: paths.rootDir,
        tmpDir: layerTmpDir(paths.layerDir),
        agentImage: await currentAgentImage(op),
        runDir: paths.runDir,
        netnsPath: `/var/run/netns/${net.netns}`,
        limits: spec.limits,
        ...(spec.background ? { background: true } : {}),
      });
      const trust = composeTrust(await templateTrust(spec.rootfsPath.split(':').pop() ?? spec.rootfsPath), await hostTrust());
      await writeSandboxFiles(sandboxesDir, record, ociSpec, spec.agentConfig, resolvConf, trust);
      // What the daemon wrote for the sandbox is read-only on the host from here on.
      await ensureReadOnlyBind(paths.runDir, op);
      lap('filesMs');
      const runsc = runscOf(spec.sandboxId);
      const consoleLog = await openAgentLog(paths.logDir, op);
      const tail = async (): Promise<string> => {
        // runsc is gone: once the sandbox's copies close too, multilog flushes and exits.
        await consoleLog.close();
        await consoleLog.drained(2_000);
        return consoleTail(spec.sandboxId, 1500);
      };
      try {
        // A restore takes the address of the namespace it is given (runsc scrapes it again, measured
        // on 20240729), so an image runs in any slot, beside its siblings: no NAT needed.
        if (snapshot) await runsc.restore(spec.sandboxId, paths.bundleDir, snapshot.image, consoleLog.fd, tail, op);
        else await runsc.create(spec.sandboxId, paths.bundleDir, consoleLog.fd, tail, op);
      } finally {
        await consoleLog.close();
      }
      if (!snapshot) await runsc.start(spec.sandboxId, op);
      lap(snapshot ? 'runscRestoreMs' : 'runscCreateStartMs');
      // A restored kernel keeps the hostname of the sandbox its image was taken of; a cold one's is
      // its id (the OCI spec's). Set from outside (nothing inside has CAP_SYS_ADMIN), while the
      // agent comes up: nothing reaches the sandbox before both are done.
      const hostname = snapshot ? setRestoredHostname(paths.runscDir, spec.sandboxId, op) : undefined;
      hostname?.catch(() => undefined); // awaited below, unless the agent fails first
      await waitForAgent(net.sandboxAddress, () => deathReason(spec.sandboxId), {
        ...op,
        timeoutMs: options.startTimeoutMs ?? 60_000,
      });
      if (!(await watchSandbox(spec.sandboxId, op))) {
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `the sandbox died while starting: ${(await deathReason(spec.sandboxId)) ?? 'gone'}`);
      }
      lap('agentHealthMs');
      if (hostname) {
        await hostname;
        lap('hostnameMs');
      }
      return { sandboxId: spec.sandboxId, address: net.sandboxAddress, phases };
    } catch (error) {
      await teardown(spec.sandboxId, slot, {}).catch(() => undefined);
      // A step that saw the deadline's abort may report it as its own failure: the deadline wins.
      throw SandboxdError.from(signal?.aborted ? signal.reason : error);
    } finally {
      dispose();
    }
  }

  /**
   * Boots a sandbox whose container is gone again in its own slot, from its bundle: restored from
   * `image` (a checkpoint), or a fresh boot on its filesystem. Resolves once its agent answers; on
   * failure no container is left (the caller's image or marker stays).
   */
  async function bootAgainInSlot(sandboxId: string, from: { image?: string }, op: OperationOptions): Promise<void> {
    const record = await readRecord(sandboxesDir, sandboxId);
    if (!record) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`);
    const paths = sandboxPaths(sandboxesDir, sandboxId);
    const net = slotAddresses(record.slot);
    const runsc = runscOf(sandboxId);
    try {
      await runsc.remove(sandboxId, op);
      await readdressSandboxNetwork(net, op);
      const consoleLog = await openAgentLog(paths.logDir, op);
      const tail = async (): Promise<string> => {
        await consoleLog.close();
        await consoleLog.drained(2_000);
        return consoleTail(sandboxId, 1500);
      };
      try {
        if (from.image !== undefined) await runsc.restore(sandboxId, paths.bundleDir, from.image, consoleLog.fd, tail, op);
        else await runsc.create(sandboxId, paths.bundleDir, consoleLog.fd, tail, op);
      } finally {
        await consoleLog.close();
      }
      if (from.image === undefined) await runsc.start(sandboxId, op);
      await waitForAgent(net.sandboxAddress, () => deathReason(sandboxId), { signal: op.signal, timeoutMs: options.startTimeoutMs ?? 60_000 });
      if (!(await watchSandbox(sandboxId, op))) {
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `the sandbox died while ${from.image ? 'restoring' : 'booting again'}: ${(await deathReason(sandboxId)) ?? 'gone'}`);
      }
    } catch (error) {
      watching.unwatch(sandboxId);
      await runsc.remove(sandboxId, {}).catch(() => undefined);
      throw SandboxdError.from(error);
    }
  }

  const runtime: SandboxRuntime = {
    create: (spec: SandboxSpec, op: OperationOptions = {}) => boot(spec, op),

    async createFromSnapshot(spec: SandboxSpec, snapshotId: string, op: OperationOptions = {}): Promise<RuntimeSandbox> {
      const found = await readSnapshotVersions(options.home, snapshotId);
      checkSnapshotVersions(snapshotId, found, await currentVersions(op));
      return boot(spec, op, snapshotId);
    },

    snapshot: withPreciseTimers(async (sandboxId: string, snapshotId: string, op: OperationOptions = {}): Promise<SnapshotImage> => {
      const { phases, lap } = startPhaseTimer();
      const status = await containerStatus(sandboxId, op);
      if (status !== 'paused' && status !== 'running') {
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `sandbox "${sandboxId}" is not running (${status ?? 'no container'}): it cannot be snapshotted`);
      }
      const record = await readRecord(sandboxesDir, sandboxId);
      if (!record) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`);
      lap('statusMs');
      // A running sandbox is settled as it runs and frozen only for the copy and the checkpoint.
      const running = status === 'running';
      if (running) await awaitNoConnections(sandboxId, record.address, 'it runs on unharmed', op);
      else await settleConnections(sandboxId, record.address, op);
      lap('settleConnectionsMs');
      const versions = await currentVersions(op);
      if (running) {
        await runscOf(sandboxId).pause(sandboxId, op);
        lap('freezeMs');
      }
      const partial = await prepareSnapshot(options.home, snapshotId);
      try {
        // Both while frozen: the disk and the memory are of the same instant.
        await copyFrozenDisk(sandboxPaths(sandboxesDir, sandboxId), join(partial, 'disk.img'), op);
        lap('diskCopyMs');
        await runscOf(sandboxId).checkpoint(sandboxId, join(partial, 'image'), op);
        lap('checkpointMs');
      } catch (error) {
        await removeSnapshot(options.home, snapshotId).catch(() => undefined);
        const message = summariseCheckpointError(SandboxdError.from(error).message);
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `snapshotting sandbox "${sandboxId}" failed; it is unharmed: ${message}`);
      } finally {
        // Thawed whatever happened (no deadline: a frozen sandbox must not stay so for a timeout).
        // A failed thaw is no refusal to retry: the sandbox would be found frozen and kept so.
        if (running) {
          await runscOf(sandboxId)
            .resume(sandboxId, {})
            .catch((error: unknown) => {
              throw new SandboxdError(ErrorCode.INTERNAL, `thawing sandbox "${sandboxId}" after its snapshot failed: ${SandboxdError.from(error).message}`);
            });
        }
      }
      if (running) lap('thawMs');
      await commitSnapshot(options.home, snapshotId, versions);
      const bytes = await diskBytes(snapshotPaths(options.home, snapshotId).dir);
      lap('commitMs');
      return { diskBytes: bytes, phases };
    }),

    async checkSnapshot(snapshotId: string, op: OperationOptions = {}): Promise<void> {
      checkSnapshotVersions(snapshotId, await readSnapshotVersions(options.home, snapshotId), await currentVersions(op));
    },

    listSnapshots: () => listSnapshotIds(options.home),

    deleteSnapshot: (snapshotId: string) => removeSnapshot(options.home, snapshotId),

    async destroy(sandboxId: string, op: OperationOptions = {}): Promise<void> {
      const pending = pendingTeardowns.get(sandboxId);
      if (pending) return;
      watching.unwatch(sandboxId);
      await runscOf(sandboxId).killNow(sandboxId, op);
      const record = await readRecord(sandboxesDir, sandboxId);
      const cleanup = teardown(sandboxId, record?.slot, {})
        .catch((error: unknown) => options.onBackgroundError?.(sandboxId, error, 'cleanup'))
        .finally(() => pendingTeardowns.delete(sandboxId));
      pendingTeardowns.set(sandboxId, cleanup);
    },

    async reconcile(known: KnownSandbox[], op: OperationOptions = {}) {
      await Promise.all(pendingTeardowns.values());
      await ensureBaseRuleset(facts, op);
      await removePartialSnapshots(options.home);
      await ensureUsageTable(op).catch((error: unknown) => options.onBackgroundError?.('(usage counters)', error, 'metering'));
      const containers = await listContainers(op);
      const records = await readRecords(sandboxesDir);
      const alive: string[] = [];
      const paused: Array<{ sandboxId: string; tier: PauseTier }> = [];
      const removed: string[] = [];
      const keep = new Set<number>();
      const adopt = async (sandboxId: string, slot: number, egress: EgressPolicy): Promise<void> => {
        claims.adopt(slot);
        rememberNames(slotAddresses(slot), egress);
        sandboxAt.set(slotAddresses(slot).sandboxAddress, sandboxId);
        await allowSandboxEgress(slotAddresses(slot), egress, { ...op, redirect });
        await linkEgressCounter(slotAddresses(slot), false, op).catch((error: unknown) => options.onBackgroundError?.(sandboxId, error, 'metering'));
        keep.add(slot);
      };
      for (const sandbox of known) {
        const record = records.find((r) => r.sandboxId === sandbox.sandboxId);
        if (!record || !claims.mayClean(record.slot)) continue;
        const status = containers.find((c) => c.id === sandbox.sandboxId)?.status;
        const dir = sandboxPaths(sandboxesDir, sandbox.sandboxId).dir;
        if (status === 'paused' && (await watchSandbox(sandbox.sandboxId, op))) {
          // Frozen (paused, or a crash mid-pause or mid-checkpoint): the memory is the truth.
          await rmImagePartial(dir);
          await adopt(sandbox.sandboxId, record.slot, record.egress);
          paused.push({ sandboxId: sandbox.sandboxId, tier: 'memory' });
        } else if (status === 'running' && (await probeAgent(sandbox.address, 2_000)) && (await watchSandbox(sandbox.sandboxId, op))) {
          await adopt(sandbox.sandboxId, record.slot, record.egress);
          alive.push(sandbox.sandboxId);
        } else if (status === undefined && sandbox.paused === true && (await hasImage(dir))) {
          await rmImagePartial(dir);
          await adopt(sandbox.sandboxId, record.slot, record.egress);
          paused.push({ sandboxId: sandbox.sandboxId, tier: 'disk' });
        } else if (status === undefined && sandbox.paused === true && (await isStopped(dir))) {
          await adopt(sandbox.sandboxId, record.slot, record.egress);
          paused.push({ sandboxId: sandbox.sandboxId, tier: 'filesystem' });
        }
      }
      const aliveIds = new Set([...alive, ...paused.map((p) => p.sandboxId)]);
      const leftovers = new Set([...containers.map((c) => c.id), ...records.map((r) => r.sandboxId), ...known.map((k) => k.sandboxId)]);
      for (const id of leftovers) {
        if (aliveIds.has(id)) continue;
        await teardown(id, records.find((r) => r.sandboxId === id)?.slot, op).catch(() => undefined);
        removed.push(id);
      }
      // Network leftovers whose records were lost: only slots that are ours or nobody's (another
      // daemon on this host owns the rest).
      const stale = (slot: number): boolean => !keep.has(slot) && claims.mayClean(slot);
      for (const iface of await listSandboxHostIfaces(HOST_IFACE_PREFIX, op)) {
        const slot = Number(iface.slice(HOST_IFACE_PREFIX.length));
        if (stale(slot)) await destroySandboxNetwork(slotAddresses(slot), op);
      }
      for (const netns of await listSandboxNamespaces(op)) {
        const slot = Number(netns.slice('sandboxd-'.length));
        if (stale(slot)) await destroySandboxNetwork(slotAddresses(slot), op);
      }
      for (const slot of await listFirewallSlots(op)) if (stale(slot)) await removeSandboxEgress(slot, op);
      for (const slot of claims.owned()) if (!keep.has(slot)) claims.release(slot);
      // A cgroup with processes in it cannot be removed, so another daemon's live ones survive this;
      // an empty one may be another daemon's create in progress, so only our own leftovers and
      // cgroups older than any create are removed.
      for (const { id, ageMs } of await listCgroupLeftovers()) {
        if (aliveIds.has(id)) continue;
        if (leftovers.has(id) || ageMs >= FOREIGN_CGROUP_MIN_AGE_MS) await removeCgroups(id);
      }
      return { alive, paused, removed };
    },

    freeze: withPreciseTimers(async (sandboxId: string, op: OperationOptions = {}): Promise<void> => {
      const status = await containerStatus(sandboxId, op);
      if (status === 'paused') return;
      if (status !== 'running') throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" is not running (${status ?? 'no container'})`);
      await runscOf(sandboxId).pause(sandboxId, op);
    }),

    thaw: withPreciseTimers(async (sandboxId: string, op: OperationOptions = {}): Promise<void> => {
      await runscOf(sandboxId).resume(sandboxId, op);
    }),

    checkpoint: withPreciseTimers(async (sandboxId: string, op: OperationOptions = {}): Promise<void> => {
      if ((await containerStatus(sandboxId, op)) !== 'paused') {
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `sandbox "${sandboxId}" must be frozen before it is checkpointed`);
      }
      const record = await readRecord(sandboxesDir, sandboxId);
      if (!record) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`);
      await settleConnections(sandboxId, record.address, op);
      const paths = sandboxPaths(sandboxesDir, sandboxId);
      const partial = await preparePartialImage(paths.dir);
      try {
        // `--leave-running`: a paused sandbox stays paused (and whole) through the checkpoint, refused or not.
        await runscOf(sandboxId).checkpoint(sandboxId, partial, op);
      } catch (error) {
        await rmImagePartial(paths.dir);
        const message = summariseCheckpointError(SandboxdError.from(error).message);
        // No cause: runsc's own message is a goroutine dump of several kB.
        throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `checkpointing sandbox "${sandboxId}" failed; it stays paused in memory: ${message}`);
      }
      await commitImage(paths.dir);
      // From here the image is the truth: the frozen container goes (its memory with it).
      watching.unwatch(sandboxId);
      await runscOf(sandboxId).remove(sandboxId, op);
      lastCpuSample.delete(sandboxId);
    }),

    async restore(sandboxId: string, op: OperationOptions = {}): Promise<void> {
      const paths = sandboxPaths(sandboxesDir, sandboxId);
      if (!(await hasImage(paths.dir))) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" has no image to restore`);
      await bootAgainInSlot(sandboxId, { image: imagePaths(paths.dir).image }, op);
      void discardImages(paths.dir).catch((error: unknown) => options.onBackgroundError?.(sandboxId, error, 'cleanup'));
    },

    stop: withPreciseTimers(async (sandboxId: string, op: OperationOptions = {}): Promise<void> => {
      const record = await readRecord(sandboxesDir, sandboxId);
      if (!record) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`);
      const status = await containerStatus(sandboxId, op);
      if (status !== 'running') throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" is not running (${status ?? 'no container'})`);
      const paths = sandboxPaths(sandboxesDir, sandboxId);
      // What the sentry still holds for the host's files goes out first (a stop kills it at once).
      await runscExec(paths.runscDir, sandboxId, { argv: ['/bin/sync'], uid: 0, gid: 0, cwd: '/', env: {} }, { ...op, timeoutMs: 15_000 }).catch(
        (error: unknown) => options.onBackgroundError?.(sandboxId, error, 'cleanup'),
      );
      watching.unwatch(sandboxId);
      await runscOf(sandboxId).remove(sandboxId, op);
      await markStopped(paths.dir);
      lastCpuSample.delete(sandboxId);
    }),

    async reboot(sandboxId: string, op: OperationOptions = {}): Promise<void> {
      const paths = sandboxPaths(sandboxesDir, sandboxId);
      if (!(await isStopped(paths.dir))) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" is not stopped`);
      await bootAgainInSlot(sandboxId, {}, op);
      await clearStopped(paths.dir);
    },

    async metrics(sandboxId: string): Promise<RuntimeMetrics> {
      // The host cgroup's own accounting (no process per sample): real CPU time received, the
      // memory charge the limit applies to; the disk is the sandbox's ext4 image (what `df /` shows inside).
      const read = async () => (pendingTeardowns.has(sandboxId) ? undefined : readCgroupUsage(join('sandboxd', sandboxId)));
      let first = lastCpuSample.get(sandboxId);
      if (!first) {
        const primed = await read();
        if (primed) first = { at: Date.now(), cpuNanos: primed.cpuNanos };
        await new Promise((r) => setTimeout(r, 200));
      }
      const usage = await read();
      if (!usage || !first) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`);
      const now = Date.now();
      lastCpuSample.set(sandboxId, { at: now, cpuNanos: usage.cpuNanos });
      const cpuCount = Math.max(1, Math.round(usage.cpuLimit ?? cpus().length));
      const elapsedNanos = Math.max(1, (now - first.at) * 1e6);
      const cpuUsedPct = Math.min(100, ((usage.cpuNanos - first.cpuNanos) / elapsedNanos / cpuCount) * 100);
      const disk = await writableLayerUsage(sandboxPaths(sandboxesDir, sandboxId).layerDir);
      const slot = (await readRecord(sandboxesDir, sandboxId).catch(() => undefined))?.slot;
      const traffic = slot === undefined ? undefined : await readEgress(slot);
      return {
        cpuCount,
        cpuUsedPct: Math.max(0, Math.round(cpuUsedPct * 100) / 100),
        cpuNanos: usage.cpuNanos,
        memUsedBytes: Math.max(0, usage.memUsageBytes - usage.memFileBytes),
        memTotalBytes: usage.memLimitBytes ?? totalmem(),
        memCacheBytes: usage.memFileBytes,
        diskUsedBytes: disk.used,
        diskTotalBytes: disk.total,
        ...(traffic?.egressBytes !== undefined ? { egressBytes: traffic.egressBytes } : {}),
        ...(traffic?.ingressBytes !== undefined ? { ingressBytes: traffic.ingressBytes } : {}),
      };
    },

    async updateEgress(sandboxId: string, egress: EgressPolicy, op: OperationOptions = {}): Promise<void> {
      const record = pendingTeardowns.has(sandboxId) ? undefined : await readRecord(sandboxesDir, sandboxId);
      if (!record) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`);
      const net = slotAddresses(record.slot);
      // One nft transaction (the old rules stay if it fails), then the record adoption re-applies.
      await replaceSandboxEgress(net, egress, { ...op, redirect });
      rememberNames(net, egress);
      try {
        await writeRecord(sandboxesDir, { ...record, egress });
      } catch (error) {
        await replaceSandboxEgress(net, record.egress, { redirect }).catch(() => undefined);
        rememberNames(net, record.egress);
        throw SandboxdError.from(error);
      }
    },

    onExit(listener) {
      exitListeners.add(listener);
      return () => exitListeners.delete(listener);
    },

    onEgressRelayed(listener) {
      relayListeners.add(listener);
      return () => relayListeners.delete(listener);
    },

    async exitReason(sandboxId) {
      return (await deathReason(sandboxId)) ?? 'the sandbox stopped';
    },

    async settle(op: OperationOptions = {}) {
      await waitSettled(Promise.all(pendingTeardowns.values()), op);
    },

    holdTimers,

    async foreground(sandboxId: string): Promise<void> {
      await setSandboxCpuShares(sandboxId, SANDBOX_CPU_SHARES);
    },

    stopWatching() {
      exits.stop();
      idleTimers?.stop();
      void domainProxy.close();
    },

    exec: withPreciseTimers((sandboxId: string, spec: ExecSpec, op?: ExecOptions) => runscExec(sandboxPaths(sandboxesDir, sandboxId).runscDir, sandboxId, spec, op)),

    layerPaths(sandboxId) {
      const { layerDir } = sandboxPaths(sandboxesDir, sandboxId);
      return { upper: layerUpperDir(layerDir), tmp: layerTmpDir(layerDir) };
    },

    async logs(sandboxId: string): Promise<string[]> {
      const paths = sandboxPaths(sandboxesDir, sandboxId);
      const lines = await readAgentLog(paths.logDir).catch(() => undefined);
      if (lines) return lines;
      if (await access(paths.legacyLogPath).then(() => true, () => false)) {
        return (await readTail(paths.legacyLogPath, 4 * 1024 * 1024)).split('\n').filter((line) => line.length > 0);
      }
      throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `no logs for sandbox "${sandboxId}"`);
    },
  };
  return runtime;
}

async function cgroupControllerDirs(): Promise<string[]> {
  const entries = await readdir(CGROUP_CONTROLLERS_ROOT).catch(() => [] as string[]);
  // cgroup v2 keeps everything in the root; v1 has one directory per controller.
  return [CGROUP_CONTROLLERS_ROOT, ...entries.map((e) => join(CGROUP_CONTROLLERS_ROOT, e))];
}

async function removeCgroups(sandboxId: string): Promise<void> {
  for (const dir of await cgroupControllerDirs()) await rmdir(join(dir, 'sandboxd', sandboxId)).catch(() => undefined);
}

/** An empty sandbox cgroup younger than this may be another daemon's sandbox being created. */
const FOREIGN_CGROUP_MIN_AGE_MS = 10 * 60_000;

/** Sandbox cgroups on the host, each with the age of its youngest controller directory. */
async function listCgroupLeftovers(now = Date.now()): Promise<Array<{ id: string; ageMs: number }>> {
  const ages = new Map<string, number>();
  for (const dir of await cgroupControllerDirs()) {
    for (const name of await readdir(join(dir, 'sandboxd')).catch(() => [] as string[])) {
      if (!/^[a-z0-9]+$/.test(name)) continue;
      const mtimeMs = (await stat(join(dir, 'sandboxd', name)).catch(() => undefined))?.mtimeMs ?? 0;
      ages.set(name, Math.min(ages.get(name) ?? Infinity, now - mtimeMs));
    }
  }
  return [...ages].map(([id, ageMs]) => ({ id, ageMs }));
}

