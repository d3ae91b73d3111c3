import type { IncomingMessage, ServerResponse } from 'node:http';
import { Adopt, parseAdoptRequest } from '@sandboxd/protocol';
import type { AdoptRequest, OperationOptions } from '@sandboxd/protocol';
import type { RuntimeSandbox, SandboxSpec } from '../runtime/sandbox-runtime.js';
import { defaultFakeHandler, FakeRuntime } from './fake-runtime.js';
import type { FakeSandbox } from './fake-runtime.js';

/** A fake runtime whose agents answer `POST /adopt` (recorded per sandbox), counting boots in flight. */
export class AdoptingRuntime extends FakeRuntime {
  readonly adopted = new Map<string, AdoptRequest[]>();
  refuseAdopt = false;
  bootDelayMs = 0;
  inFlight = 0;
  maxInFlight = 0;
  boots = 0;
  /** Sandboxes started from a snapshot (each also counts as a boot). */
  restores = 0;
  /** Sandboxes given a sandbox's CPU weight (`foreground`), in order. */
  readonly foregrounded: string[] = [];

  foreground(sandboxId: string): Promise<void> {
    this.foregrounded.push(sandboxId);
    return Promise.resolve();
  }

  constructor() {
    super({
      handler: (sandbox: FakeSandbox, port: number, req: IncomingMessage, res: ServerResponse) => {
        if (req.url !== Adopt.path) return defaultFakeHandler(sandbox, port, req, res);
        let body = '';
        req.on('data', (chunk: Buffer) => (body += chunk.toString()));
        req.on('end', () => {
          if (this.refuseAdopt || req.headers.authorization !== Adopt.authorization(sandbox.spec.agentConfig.loopbackSecret ?? '')) {
            res.writeHead(500).end('refused');
            return;
          }
          const request = parseAdoptRequest(JSON.parse(body));
          // The secret an adopt hands over is the one the agent wants from now on.
          if (request.loopbackSecret !== undefined) sandbox.spec = { ...sandbox.spec, agentConfig: { ...sandbox.spec.agentConfig, loopbackSecret: request.loopbackSecret } };
          const list = this.adopted.get(sandbox.spec.sandboxId) ?? [];
          list.push(request);
          this.adopted.set(sandbox.spec.sandboxId, list);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ generation: request.generation, sandboxId: request.sandboxId, applied: true }));
        });
      },
    });
  }

  override async create(spec: SandboxSpec, options?: OperationOptions): Promise<RuntimeSandbox> {
    this.boots++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.bootDelayMs > 0) await new Promise((r) => setTimeout(r, this.bootDelayMs));
      return await super.create(spec, options);
    } finally {
      this.inFlight--;
    }
  }

  override async createFromSnapshot(spec: SandboxSpec, snapshotId: string, options?: OperationOptions): Promise<RuntimeSandbox> {
    this.restores++;
    return super.createFromSnapshot(spec, snapshotId, options);
  }
}
