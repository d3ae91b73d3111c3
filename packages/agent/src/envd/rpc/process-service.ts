import { Code, ConnectError } from '@connectrpc/connect';
import type { HandlerContext, ServiceImpl } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Signal } from '@sandboxd/protocol';
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
      throw new ConnectError('invalid input type: process selector is empty', Code.Unimplemented);
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
        throw new ConnectError('process was killed: the request timeout (Connect-Timeout-Ms) elapsed', Code.DeadlineExceeded);
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
        if (!cfg) throw new ConnectError('process config is required', Code.InvalidArgument);
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
            throw new ConnectError(`error resizing tty: ${(err as Error).message}`, Code.Internal);
          }
        }
        return {};
      }),

    async streamInput(requests) {
      let proc: ManagedProcess | undefined;
      for await (const req of requests) {
        const ev = req.event;
        if (ev.case === 'start') proc = await rpc(() => deps.processes.get(toSelector(ev.value.process)));
        else if (ev.case === 'data') {
          if (!proc) throw new ConnectError('input before start event', Code.FailedPrecondition);
          await writeInput(proc, ev.value.input);
        } else if (ev.case !== 'keepalive') {
          throw new ConnectError('invalid event type', Code.Unimplemented);
        }
      }
      return {};
    },

    async sendInput(req) {
      const proc = await rpc(() => deps.processes.get(toSelector(req.process)));
      await writeInput(proc, req.input);
      return {};
    },

    sendSignal: (req) =>
      rpc(() => {
        const proc = deps.processes.get(toSelector(req.process));
        if (req.signal === Signal.SIGKILL) proc.signal('SIGKILL');
        else if (req.signal === Signal.SIGTERM) proc.signal('SIGTERM');
        else throw new ConnectError(`invalid signal: ${req.signal}`, Code.Unimplemented);
        return {};
      }),

    async closeStdin(req) {
      const proc = await rpc(() => deps.processes.get(toSelector(req.process)));
      try {
        await proc.closeStdin();
      } catch (err) {
        throw new ConnectError(`error closing stdin: ${(err as Error).message}`, Code.Unknown);
      }
      return {};
    },
  };
}

async function writeInput(
  proc: ManagedProcess,
  input: { input: { case: 'stdin' | 'pty'; value: Uint8Array } | { case: undefined; value?: undefined } } | undefined,
): Promise<void> {
  const which = input?.input;
  if (!which || which.case === undefined) throw new ConnectError('invalid input type', Code.Unimplemented);
  if (which.case === 'stdin' && proc.isPty) {
    throw new ConnectError(
      'error writing to stdin: tty assigned to process — input should be written to the pty, not the stdin',
      Code.Internal,
    );
  }
  if (which.case === 'pty' && !proc.isPty) {
    throw new ConnectError(
      'error writing to tty: tty not assigned to process — input should be written to the stdin, not the tty',
      Code.Internal,
    );
  }
  try {
    await proc.write(which.value);
  } catch (err) {
    const what = which.case === 'pty' ? 'tty' : 'stdin';
    throw new ConnectError(`error writing to ${what}: ${(err as Error).message}`, Code.Internal);
  }
}
