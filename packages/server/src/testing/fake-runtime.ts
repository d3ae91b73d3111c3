import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { randomInt } from 'node:crypto';
import { ENVD_PORT, ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { KnownSandbox, PauseTier, RuntimeMetrics, RuntimeSandbox, SandboxRuntime, SandboxSpec, SnapshotImage } from '../runtime/sandbox-runtime.js';
import type { EgressPolicy } from '../domain/egress-policy.js';
import type { OperationOptions } from '@sandboxd/protocol';

/** One sandbox of the fake: tiny HTTP servers on its own loopback address. */
export interface FakeSandbox {
  spec: SandboxSpec;
  address: string;
  servers: http.Server[];
  /** Every connection ever accepted; a destroyed sandbox leaves them open (black hole) until close(). */
  sockets: Set<Socket>;
  destroyed: boolean;
}

export type FakeHandler = (sandbox: FakeSandbox, port: number, req: IncomingMessage, res: ServerResponse) => void;

export interface FakeRuntimeOptions {
  /**
   * Ports every sandbox listens on. Default: the envd port only (a process listening on the
   * wildcard address of a port makes it unbindable on every loopback address).
   */
  ports?: number[];
  /** Request handler of every port; default `defaultFakeHandler`. */
  handler?: FakeHandler;
  /** When set, create() rejects with this error (after cleaning up). */
  failCreate?: Error;
}

/**
 * Agent stand-in: `GET /health` (204 on envd, 200 "OK" on code-interpreter), `/echo` (JSON of the
 * request line and headers), `POST /count` (counts the streamed body), `GET /bytes?n=` (streams n bytes).
 */
export const defaultFakeHandler: FakeHandler = (sandbox, port, req, res) => {
  const url = new URL(req.url ?? '/', 'http://fake');
  if (url.pathname === '/health') {
    if (port === ENVD_PORT) res.writeHead(204).end();
    else res.writeHead(200, { 'content-type': 'text/plain' }).end('OK');
    return;
  }
  if (url.pathname === '/count') {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => (bytes += chunk.length));
    req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes })));
    return;
  }
  if (url.pathname === '/bytes') {
    let left = Number(url.searchParams.get('n') ?? '0');
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = (): void => {
      while (left > 0) {
        const piece = chunk.subarray(0, Math.min(left, chunk.length));
        left -= piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
    return;
  }
  req.resume();
  const body = JSON.stringify({
    sandboxId: sandbox.spec.sandboxId,
    port,
    method: req.method,
    url: req.url,
    headers: req.headers,
  });
  res.writeHead(url.pathname === '/echo' || url.pathname === '/files' ? 200 : 404, { 'content-type': 'application/json' });
  res.end(body);
};

/**
 * A SandboxRuntime for tests: each sandbox is a set of real HTTP servers on a distinct random
 * 127.x.y.z address, on the real agent ports. Destroying a sandbox stops its listeners but leaves
 * open connections hanging, as a removed network namespace does.
 */
export class FakeRuntime implements SandboxRuntime {
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly reconcileCalls: KnownSandbox[][] = [];
  /** Paused sandboxes and where their state is (the fake keeps listening: it has no freezer). */
  readonly tiers = new Map<string, PauseTier>();
  /** Every pause-related call, in order (`freeze:<id>`, `thaw:<id>`, `checkpoint:<id>`, `restore:<id>`). */
  readonly pauseCalls: string[] = [];
  /** When set, checkpoint() rejects with it (the sandbox stays frozen), as a refused runsc checkpoint does. */
  failCheckpoint: Error | undefined;
  readonly options: FakeRuntimeOptions;

  constructor(options: FakeRuntimeOptions = {}) {
    this.options = options;
  }

  async create(spec: SandboxSpec, options?: OperationOptions): Promise<RuntimeSandbox> {
    options?.signal?.throwIfAborted();
    if (this.options.failCreate !== undefined) throw this.options.failCreate;
    for (let attempt = 0; ; attempt++) {
      const address = `127.${randomInt(64, 250)}.${randomInt(0, 256)}.${randomInt(2, 250)}`;
      const sandbox: FakeSandbox = { spec, address, servers: [], sockets: new Set(), destroyed: false };
      try {
        for (const port of this.options.ports ?? [ENVD_PORT]) {
          sandbox.servers.push(await this.listen(sandbox, port));
        }
      } catch (error) {
        for (const server of sandbox.servers) server.close();
        if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && attempt < 20) continue;
        throw error;
      }
      this.sandboxes.set(spec.sandboxId, sandbox);
      return { sandboxId: spec.sandboxId, address };
    }
  }

  private listen(sandbox: FakeSandbox, port: number): Promise<http.Server> {
    const handler = this.options.handler ?? defaultFakeHandler;
    const server = http.createServer((req, res) => handler(sandbox, port, req, res));
    server.on('connection', (socket) => sandbox.sockets.add(socket));
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      sandbox.sockets.add(socket);
      socket.write('HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n\r\n');
      if (head.length > 0) socket.write(head);
      socket.pipe(socket);
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, sandbox.address, () => resolve(server));
    });
  }

  async destroy(sandboxId: string): Promise<void> {
    const sandbox = this.sandboxes.get(sandboxId);
    if (sandbox === undefined) return;
    this.sandboxes.delete(sandboxId);
    this.tiers.delete(sandboxId);
    sandbox.destroyed = true;
    // Stop accepting; established connections stay open and silent (a black hole).
    for (const server of sandbox.servers) server.close();
    this.graveyard.push(sandbox);
  }

  private readonly graveyard: FakeSandbox[] = [];

  async reconcile(known: KnownSandbox[]): Promise<{ alive: string[]; paused: Array<{ sandboxId: string; tier: PauseTier }>; removed: string[] }> {
    this.reconcileCalls.push(known);
    const knownIds = new Set(known.map((k) => k.sandboxId));
    const present = known.filter((k) => this.sandboxes.get(k.sandboxId)?.address === k.address);
    const alive = present.filter((k) => !this.tiers.has(k.sandboxId)).map((k) => k.sandboxId);
    const paused = present.flatMap((k) => {
      const tier = this.tiers.get(k.sandboxId);
      return tier === undefined ? [] : [{ sandboxId: k.sandboxId, tier }];
    });
    const removed = [...this.sandboxes.keys()].filter((id) => !knownIds.has(id));
    for (const id of removed) await this.destroy(id);
    return { alive, paused, removed };
  }

  async freeze(sandboxId: string): Promise<void> {
    this.require(sandboxId);
    this.pauseCalls.push(`freeze:${sandboxId}`);
    if (!this.tiers.has(sandboxId)) this.tiers.set(sandboxId, 'memory');
  }

  async thaw(sandboxId: string): Promise<void> {
    this.require(sandboxId);
    this.pauseCalls.push(`thaw:${sandboxId}`);
    this.tiers.delete(sandboxId);
  }

  async checkpoint(sandboxId: string): Promise<void> {
    this.require(sandboxId);
    this.pauseCalls.push(`checkpoint:${sandboxId}`);
    if (this.tiers.get(sandboxId) !== 'memory') throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `sandbox "${sandboxId}" must be frozen before it is checkpointed`);
    if (this.failCheckpoint !== undefined) throw this.failCheckpoint;
    this.tiers.set(sandboxId, 'disk');
  }

  async restore(sandboxId: string): Promise<void> {
    this.require(sandboxId);
    this.pauseCalls.push(`restore:${sandboxId}`);
    if (this.tiers.get(sandboxId) !== 'disk') throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" has no image to restore`);
    this.tiers.delete(sandboxId);
  }

  async stop(sandboxId: string): Promise<void> {
    this.require(sandboxId);
    this.pauseCalls.push(`stop:${sandboxId}`);
    if (this.tiers.has(sandboxId)) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" is not running`);
    this.tiers.set(sandboxId, 'filesystem');
  }

  async reboot(sandboxId: string): Promise<void> {
    this.require(sandboxId);
    this.pauseCalls.push(`reboot:${sandboxId}`);
    if (this.tiers.get(sandboxId) !== 'filesystem') throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" is not stopped`);
    this.tiers.delete(sandboxId);
  }

  /** Snapshots taken (id → the sandbox they were taken of). */
  readonly snapshots = new Map<string, string>();

  async snapshot(sandboxId: string, snapshotId: string): Promise<SnapshotImage> {
    this.require(sandboxId);
    this.pauseCalls.push(`snapshot:${sandboxId}`);
    const tier = this.tiers.get(sandboxId);
    if (tier !== undefined && tier !== 'memory') throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, `sandbox "${sandboxId}" is not running: it cannot be snapshotted`);
    if (this.failCheckpoint !== undefined) throw this.failCheckpoint;
    this.snapshots.set(snapshotId, sandboxId);
    const source = this.sandboxes.get(sandboxId)?.spec.agentConfig;
    if (source !== undefined) this.snapshotConfigs.set(snapshotId, { ...source, envVars: { ...source.envVars } });
    return { diskBytes: 4096 };
  }

  /** The agent config of each snapshot's source: a restored agent is still that sandbox until adopted. */
  private readonly snapshotConfigs = new Map<string, SandboxSpec['agentConfig']>();

  async createFromSnapshot(spec: SandboxSpec, snapshotId: string, options?: OperationOptions): Promise<RuntimeSandbox> {
    await this.checkSnapshot(snapshotId);
    if (this.failRestore !== undefined) throw this.failRestore;
    const source = this.snapshotConfigs.get(snapshotId);
    return this.create(source === undefined ? spec : { ...spec, agentConfig: { ...source } }, options);
  }

  /** When set, createFromSnapshot() rejects with it (a restore that failed). */
  failRestore: Error | undefined;

  /** Snapshots checkSnapshot() calls incompatible (as images of another runsc or agent). */
  readonly incompatibleSnapshots = new Set<string>();

  async checkSnapshot(snapshotId: string): Promise<void> {
    if (!this.snapshots.has(snapshotId)) throw new SandboxdError(ErrorCode.SNAPSHOT_NOT_FOUND, `snapshot "${snapshotId}" has no image`);
    if (this.incompatibleSnapshots.has(snapshotId)) throw new SandboxdError(ErrorCode.SNAPSHOT_INCOMPATIBLE, `snapshot "${snapshotId}" was written by another runsc`);
  }

  async listSnapshots(): Promise<string[]> {
    return [...this.snapshots.keys()];
  }

  async deleteSnapshot(snapshotId: string): Promise<void> {
    this.snapshots.delete(snapshotId);
  }

  /** What `metrics()` answers for every sandbox; tests change it to see new values sampled. */
  metricsValues: RuntimeMetrics = {
    cpuCount: 2,
    cpuUsedPct: 12.5,
    memUsedBytes: 64 * 2 ** 20,
    memTotalBytes: 512 * 2 ** 20,
    memCacheBytes: 8 * 2 ** 20,
    diskUsedBytes: 100 * 2 ** 20,
    diskTotalBytes: 1024 * 2 ** 20,
  };

  async metrics(sandboxId: string): Promise<RuntimeMetrics> {
    this.require(sandboxId);
    return { ...this.metricsValues };
  }

  /** Every egress update applied, in order; `failUpdateEgress` makes the next ones reject. */
  readonly egressUpdates: Array<{ sandboxId: string; egress: EgressPolicy }> = [];
  failUpdateEgress: Error | undefined;

  async updateEgress(sandboxId: string, egress: EgressPolicy, options?: OperationOptions): Promise<void> {
    options?.signal?.throwIfAborted();
    const sandbox = this.sandboxes.get(sandboxId);
    if (sandbox === undefined) throw new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `sandbox "${sandboxId}" not found`);
    if (this.failUpdateEgress !== undefined) throw this.failUpdateEgress;
    sandbox.spec = { ...sandbox.spec, egress };
    this.egressUpdates.push({ sandboxId, egress });
  }

  private readonly exitListeners = new Set<(sandboxId: string) => void>();

  onExit(listener: (sandboxId: string) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  async exitReason(sandboxId: string): Promise<string> {
    return `fake sandbox ${sandboxId} exited`;
  }

  stopWatching(): void {
    this.exitListeners.clear();
  }

  /** Nothing runs in the background here: destroy releases everything before it resolves. */
  async settle(): Promise<void> {}

  /** The sandbox dies on its own, as its gVisor processes would (listeners closed, connections reset). */
  exitOnItsOwn(sandboxId: string): void {
    const sandbox = this.require(sandboxId);
    this.sandboxes.delete(sandboxId);
    sandbox.destroyed = true;
    for (const server of sandbox.servers) server.close();
    for (const socket of sandbox.sockets) socket.destroy();
    for (const listener of this.exitListeners) listener(sandboxId);
  }

  async logs(sandboxId: string): Promise<string[]> {
    this.require(sandboxId);
    return [
      JSON.stringify({ level: 30, time: Date.parse('2030-01-01T00:00:00Z'), msg: 'agent started', port: ENVD_PORT }),
      JSON.stringify({ level: 50, time: Date.parse('2030-01-01T00:00:01Z'), msg: 'something failed' }),
      'plain line',
    ];
  }

  /** Kills every connection and listener, including those of destroyed sandboxes. */
  async close(): Promise<void> {
    const all = [...this.sandboxes.values(), ...this.graveyard];
    this.sandboxes.clear();
    this.graveyard.length = 0;
    for (const sandbox of all) {
      for (const socket of sandbox.sockets) socket.destroy();
      await Promise.all(sandbox.servers.map((s) => new Promise((resolve) => s.close(resolve))));
    }
  }

  private require(sandboxId: string): FakeSandbox {
    const sandbox = this.sandboxes.get(sandboxId);
    if (sandbox === undefined) throw new Error(`fake runtime: no sandbox ${sandboxId}`);
    return sandbox;
  }
}

/**
 * A FakeRuntime per call, all closed after the calling test file (node:test `after`).
 *
 * @example
 * const newRuntime = fakeRuntimesClosedAfter(after);
 * const runtime = newRuntime();
 */
export function fakeRuntimesClosedAfter(after: (fn: () => Promise<void>) => void): () => FakeRuntime {
  const runtimes: FakeRuntime[] = [];
  after(async () => {
    for (const runtime of runtimes) await runtime.close();
  });
  return () => {
    const runtime = new FakeRuntime();
    runtimes.push(runtime);
    return runtime;
  };
}
