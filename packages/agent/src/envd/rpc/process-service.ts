import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { ErrorCode, SandboxdError, Signal } from '@sandboxd/protocol';
import type { Process, ProcessEventSchema, ProcessSelector } from '@sandboxd/protocol';
import type { ManagedProcess, ProcessSubscription } from '../../process/managed-process.js';
import type { Selector } from '../../process/process-manager.js';
import type { EnvdDeps } from '../deps.js';
import { requestUser } from '../request-user.js';
import { rpc, toConnectError } from './errors.js';
import { keepaliveMs } from './keepalive.js';

type EventInit = MessageInitShape<typeof ProcessEventSchema>;

function toSelector(sel: ProcessSelector | undefined): Selector {
  switch (sel?.selector.case) {
    case 'pid':
      return { pid: sel.selector.value };
    case 'tag':
      return { tag: sel.selector.value };
    default:
      throw new SandboxdError(ErrorCode.NOT_IMPLEMENTED, 'invalid input type: process selector is empty');
  }
}

/**
 * Streams a process subscription as envd does: data events, a keepalive after each idle interval,
 * then the end event. When the process was killed by its lifetime limit the stream ends with
 * deadline_exceeded instead.
 */
async function* pump(proc: ManagedProcess, sub: ProcessSubscription, ctx: HandlerContext): AsyncGenerator<EventInit> {
  const idleMs = keepaliveMs(ctx);
  try {
    for (;;) {
      const r = await sub.channel.take({ signal: ctx.signal, idleMs });
      if (r.kind === 'closed') return;
      if (r.kind === 'idle') {
        yield { event: { case: 'keepalive', value: {} } };
        continue;
      }
      const item = r.item;
      if (item.type === 'data') {
        yield { event: { case: 'data', value: { output: { case: item.kind, value: item.data } } } };
        continue;
      }
      if (proc.timedOut) {
        throw new SandboxdError(ErrorCode.TIMEOUT, 'process was killed: the request timeout (Connect-Timeout-Ms) elapsed');
      }
      yield { event: { case: 'end', value: { ...item.exit } } };
      return;
    }
  } catch (err) {
    throw toConnectError(err);
  } finally {
    sub.close();
  }
}

/** start{pid}, then the pumped events; the subscription is closed however the stream ends. */
async function* stream(proc: ManagedProcess, sub: ProcessSubscription, ctx: HandlerContext) {
  let pumping = false;
  try {
    yield { event: { event: { case: 'start' as const, value: { pid: proc.pid } } } };
    pumping = true;
    for await (const event of pump(proc, sub, ctx)) yield { event };
  } finally {
    if (!pumping) sub.close();
  }
}

export function createProcessService(deps: EnvdDeps): ServiceImpl<typeof Process> {
  const user = (ctx: HandlerContext) =>
    requestUser(ctx.requestHeader.get('authorization'), deps.users, deps.config.defaultUser);

  return {
    list: () =>
      rpc(() => ({
        processes: deps.processes.list().map((p) => ({
          pid: p.pid,
          ...(p.spec.tag !== undefined ? { tag: p.spec.tag } : {}),
          config: {
            cmd: p.spec.cmd,
            args: p.spec.args,
            envs: p.spec.envs,
            ...(p.spec.cwd !== undefined ? { cwd: p.spec.cwd } : {}),
          },
        })),
      })),

    async *start(req, ctx) {
      const { proc, sub } = await rpc(async () => {
        const u = user(ctx);
        const cfg = req.process;
        if (!cfg) throw new SandboxdError(ErrorCode.BAD_REQUEST, 'process config is required');
        const size = req.pty?.size;
        const started = await deps.processes.start(
          { cmd: cfg.cmd, args: cfg.args, envs: cfg.envs, cwd: cfg.cwd || deps.config.defaultWorkdir, tag: req.tag },
          u,
          {
            pty: req.pty ? { cols: size?.cols ?? 80, rows: size?.rows ?? 24 } : undefined,
            stdin: req.stdin ?? true,
            lifetimeMs: ctx.timeoutMs(),
          },
        );
        return { proc: started, sub: started.subscribe() };
      });
      yield* stream(proc, sub, ctx);
    },

    async *connect(req, ctx) {
      const proc = await rpc(() => deps.processes.get(toSelector(req.process), true));
      const sub = proc.subscribe();
      yield* stream(proc, sub, ctx);
    },

    update: (req) =>
      rpc(() => {
        const proc = deps.processes.get(toSelector(req.process));
        const size = req.pty?.size;
        if (size) {
          try {
            proc.resize(size.cols, size.rows);
          } catch (err) {
            throw new SandboxdError(ErrorCode.INTERNAL, `error resizing tty: ${(err as Error).message}`);
          }
        }
        return {};
      }),

    streamInput: (requests) =>
      rpc(async () => {
        let proc: ManagedProcess | undefined;
        for await (const req of requests) {
          const ev = req.event;
          if (ev.case === 'start') proc = deps.processes.get(toSelector(ev.value.process));
          else if (ev.case === 'data') {
            if (!proc) throw new SandboxdError(ErrorCode.FAILED_PRECONDITION, 'input before start event');
            await writeInput(proc, ev.value.input);
          } else if (ev.case !== 'keepalive') {
            throw new SandboxdError(ErrorCode.NOT_IMPLEMENTED, 'invalid event type');
          }
        }
        return {};
      }),

    sendInput: (req) =>
      rpc(async () => {
        await writeInput(deps.processes.get(toSelector(req.process)), req.input);
        return {};
      }),

    sendSignal: (req) =>
      rpc(() => {
        const proc = deps.processes.get(toSelector(req.process));
        if (req.signal === Signal.SIGKILL) proc.signal('SIGKILL');
        else if (req.signal === Signal.SIGTERM) proc.signal('SIGTERM');
        else throw new SandboxdError(ErrorCode.NOT_IMPLEMENTED, `invalid signal: ${req.signal}`);
        return {};
      }),

    closeStdin: (req) =>
      rpc(async () => {
        const proc = deps.processes.get(toSelector(req.process));
        try {
          await proc.closeStdin();
        } catch (err) {
          throw new SandboxdError(ErrorCode.UNKNOWN, `error closing stdin: ${(err as Error).message}`);
        }
        return {};
      }),
  };
}

async function writeInput(
  proc: ManagedProcess,
  input: { input: { case: 'stdin' | 'pty'; value: Uint8Array } | { case: undefined; value?: undefined } } | undefined,
): Promise<void> {
  const which = input?.input;
  if (!which || which.case === undefined) throw new SandboxdError(ErrorCode.NOT_IMPLEMENTED, 'invalid input type');
  if (which.case === 'stdin' && proc.isPty) {
    throw new SandboxdError(ErrorCode.INTERNAL, 'error writing to stdin: tty assigned to process — input should be written to the pty, not the stdin');
  }
  if (which.case === 'pty' && !proc.isPty) {
    throw new SandboxdError(ErrorCode.INTERNAL, 'error writing to tty: tty not assigned to process — input should be written to the stdin, not the tty');
  }
  try {
    await proc.write(which.value);
  } catch (err) {
    const what = which.case === 'pty' ? 'tty' : 'stdin';
    throw new SandboxdError(ErrorCode.INTERNAL, `error writing to ${what}: ${(err as Error).message}`);
  }
}
