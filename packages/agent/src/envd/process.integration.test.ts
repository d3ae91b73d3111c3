import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import type { CallOptions } from '@connectrpc/connect';
import { Signal } from '@sandboxd/protocol';
import type { ProcessEvent } from '@sandboxd/protocol';
import { asUser, createTempUser, rpcError, startAgent, withTimeout } from '../test/agent-fixture.js';
import type { AgentFixture } from '../test/agent-fixture.js';

type StartInit = Parameters<AgentFixture['process']['start']>[0];

interface Collected {
  pid: number;
  stdout: string;
  stderr: string;
  pty: string;
  kinds: string[];
  end: Extract<ProcessEvent['event'], { case: 'end' }>['value'] | undefined;
  error: ConnectError | undefined;
  chunkSizes: number[];
}

async function collect(stream: AsyncIterable<{ event?: ProcessEvent | undefined }>, onEvent?: (c: Collected) => void | Promise<void>): Promise<Collected> {
  const c: Collected = { pid: 0, stdout: '', stderr: '', pty: '', kinds: [], end: undefined, error: undefined, chunkSizes: [] };
  try {
    for await (const res of stream) {
      const ev = res.event?.event;
      if (!ev?.case) continue;
      c.kinds.push(ev.case);
      if (ev.case === 'start') c.pid = ev.value.pid;
      if (ev.case === 'data' && ev.value.output.case) {
        const bytes = ev.value.output.value;
        c.chunkSizes.push(bytes.length);
        c[ev.value.output.case] += Buffer.from(bytes).toString();
      }
      if (ev.case === 'end') c.end = ev.value;
      await onEvent?.(c);
    }
  } catch (err) {
    c.error = ConnectError.from(err);
  }
  return c;
}

const bash = (script: string, extra: { tag?: string; envs?: Record<string, string> } = {}): StartInit => ({
  process: { cmd: '/bin/bash', args: ['-l', '-c', script], envs: extra.envs ?? {} },
  stdin: false,
  ...(extra.tag !== undefined ? { tag: extra.tag } : {}),
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('process service (real agent)', () => {
  let fx: AgentFixture;
  before(async () => {
    fx = await startAgent();
  });
  after(async () => {
    await fx.stop();
  });

  const start = (req: StartInit, opts?: CallOptions) => fx.process.start(req, opts);

  it('streams start, stdout, stderr and a successful end', async () => {
    const c = await withTimeout(collect(start(bash('echo hello; echo oops >&2'))), 10_000, 'run');
    assert.equal(c.kinds[0], 'start');
    assert.ok(c.pid > 0);
    assert.equal(c.stdout, 'hello\n');
    assert.equal(c.stderr, 'oops\n');
    assert.equal(c.kinds.at(-1), 'end');
    assert.deepEqual({ ...c.end }, { ...c.end, exitCode: 0, exited: true, status: 'exit status 0' });
    assert.equal(c.end?.error, undefined);
    assert.equal(c.error, undefined);
  });

  it('reports non-zero exit codes with an error string', async () => {
    const c = await collect(start(bash('exit 7')));
    assert.equal(c.end?.exitCode, 7);
    assert.equal(c.end?.exited, true);
    assert.equal(c.end?.status, 'exit status 7');
    assert.equal(c.end?.error, 'exit status 7');
  });

  it('reports signal deaths as exit code -1', async () => {
    const c = await collect(start(bash('kill -TERM $$')));
    assert.equal(c.end?.exitCode, -1);
    assert.equal(c.end?.exited, false);
    assert.equal(c.end?.status, 'signal: terminated');
    assert.equal(c.end?.error, 'signal: terminated');
  });

  it('builds the child environment: PATH, HOME, USER, sandbox env, request envs (later wins)', async () => {
    const c = await collect(
      start({
        process: { cmd: '/bin/bash', args: ['-c', 'echo "$HOME|$USER|$LOGNAME|$SANDBOX_GLOBAL|$REQ|${PATH:+path}"'], envs: { REQ: 'r' } },
        stdin: false,
      }),
    );
    assert.equal(c.stdout, '/root|root|root|from-sandbox|r|path\n');
    const over = await collect(start(bash('echo $SANDBOX_GLOBAL', { envs: { SANDBOX_GLOBAL: 'overridden' } })));
    assert.equal(over.stdout, 'overridden\n');
  });

  it('resolves cwd against the home directory and rejects a missing cwd', async () => {
    const c = await collect(start({ process: { cmd: 'pwd', args: [], envs: {}, cwd: fx.dir }, stdin: false }));
    assert.equal(c.stdout.trim(), fx.dir);
    const home = await collect(start({ process: { cmd: 'pwd', args: [], envs: {}, cwd: '~' }, stdin: false }));
    assert.equal(home.stdout.trim(), '/root');
    const bad = await collect(start({ process: { cmd: 'pwd', args: [], envs: {}, cwd: '/does/not/exist' }, stdin: false }));
    assert.equal(bad.error?.code, Code.InvalidArgument);
    assert.match(bad.error?.rawMessage ?? '', /cwd '\/does\/not\/exist' does not exist/);
  });

  it('rejects an unknown executable with invalid_argument', async () => {
    const c = await collect(start({ process: { cmd: 'no-such-binary-xyz', args: [], envs: {} }, stdin: false }));
    assert.equal(c.error?.code, Code.InvalidArgument);
    assert.deepEqual(c.kinds, []);
  });

  it('splits large output into chunks of at most 32 KiB without losing bytes', async () => {
    const c = await collect(start(bash('head -c 300000 /dev/zero | tr "\\0" a')));
    assert.equal(c.stdout.length, 300000);
    assert.ok(Math.max(...c.chunkSizes) <= 32 * 1024);
  });

  it('feeds stdin and closes it to signal EOF', async () => {
    const stream = start({ process: { cmd: 'cat', args: [], envs: {} }, stdin: true });
    let sent = false;
    const c = await withTimeout(
      collect(stream, async (cur) => {
        if (cur.pid && !sent) {
          sent = true;
          await fx.process.sendInput({ process: { selector: { case: 'pid', value: cur.pid } }, input: { input: { case: 'stdin', value: Buffer.from('ping\n') } } });
          await fx.process.closeStdin({ process: { selector: { case: 'pid', value: cur.pid } } });
        }
      }),
      10_000,
      'cat',
    );
    assert.equal(c.stdout, 'ping\n');
    assert.equal(c.end?.exitCode, 0);
  });

  it('gives processes started with stdin=false /dev/null as stdin and rejects input', async () => {
    const c = await collect(start(bash('cat; echo done')));
    assert.equal(c.stdout, 'done\n');
    const bg = start(bash('sleep 5'));
    const it0 = bg[Symbol.asyncIterator]();
    const first = await it0.next();
    const pid = first.value?.event?.event.case === 'start' ? first.value.event.event.value.pid : 0;
    const err = await rpcError(fx.process.sendInput({ process: { selector: { case: 'pid', value: pid } }, input: { input: { case: 'stdin', value: Buffer.from('x') } } }));
    assert.equal(err.code, Code.Internal);
    await fx.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGKILL });
    await it0.return?.();
  });

  it('kills with SIGKILL/SIGTERM, rejects other signals and unknown pids', async () => {
    const ctl = new AbortController();
    const stream = start(bash('sleep 30'), { signal: ctl.signal });
    let killed = false;
    const c = await withTimeout(
      collect(stream, async (cur) => {
        if (cur.pid && !killed) {
          killed = true;
          const sel = { selector: { case: 'pid' as const, value: cur.pid } };
          const bad = await rpcError(fx.process.sendSignal({ process: sel, signal: Signal.UNSPECIFIED }));
          assert.equal(bad.code, Code.Unimplemented);
          await fx.process.sendSignal({ process: sel, signal: Signal.SIGKILL });
        }
      }),
      10_000,
      'kill',
    );
    assert.equal(c.end?.status, 'signal: killed');
    assert.equal(c.end?.exitCode, -1);
    const missing = await rpcError(fx.process.sendSignal({ process: { selector: { case: 'pid', value: 999_999 } }, signal: Signal.SIGKILL }));
    assert.equal(missing.code, Code.NotFound);
  });

  it('keeps background processes running after the client disconnects; List, Connect and tags find them', async () => {
    const ctl = new AbortController();
    // The ticker also counts in a file, so the test can wait until it really printed some ticks
    // (a loaded machine can take longer than the sleeps below to start a login shell).
    const counter = join(mkdtempSync(join(tmpdir(), 'ticker-')), 'count');
    const stream = start(bash(`for i in $(seq 1 40); do echo tick; echo $i > ${counter}; sleep 0.1; done`, { tag: 'ticker' }), { signal: ctl.signal });
    const iter = stream[Symbol.asyncIterator]();
    const first = await iter.next();
    assert.equal(first.value?.event?.event.case, 'start');
    const pid = first.value?.event?.event.case === 'start' ? first.value.event.event.value.pid : 0;
    ctl.abort();
    await iter.return?.().catch(() => undefined);
    const printed = (): number => {
      try {
        return Number(readFileSync(counter, 'utf8').trim()) || 0;
      } catch {
        return 0;
      }
    };
    for (const until = Date.now() + 10_000; printed() < 5 && Date.now() < until; ) await sleep(50);
    assert.ok(printed() >= 5, 'the ticker printed while no client was attached');

    const listed = await fx.process.list({});
    const info = listed.processes.find((p) => p.pid === pid);
    assert.ok(info, 'process is still listed after the client disconnected');
    assert.equal(info.tag, 'ticker');
    assert.equal(info.config?.cmd, '/bin/bash');
    assert.deepEqual(info.config?.args.slice(0, 2), ['-l', '-c']);

    const c = await withTimeout(collect(fx.process.connect({ process: { selector: { case: 'tag', value: 'ticker' } } })), 15_000, 'connect');
    assert.equal(c.kinds[0], 'start');
    assert.equal(c.pid, pid);
    assert.ok(c.stdout.includes('tick'), 'connect delivers new output');
    assert.ok(c.stdout.split('\n').filter(Boolean).length < 40, 'connect does not replay old output');
    assert.equal(c.end?.exitCode, 0);

    const replay = await collect(fx.process.connect({ process: { selector: { case: 'pid', value: pid } } }));
    assert.deepEqual(replay.kinds, ['start', 'end']);
    assert.equal((await fx.process.list({})).processes.some((p) => p.pid === pid), false);
    const gone = await rpcError(collect(fx.process.connect({ process: { selector: { case: 'pid', value: 999_998 } } })).then((r) => {
      if (r.error) throw r.error;
    }));
    assert.equal(gone.code, Code.NotFound);
  });

  it('kills the process when Connect-Timeout-Ms elapses and ends with deadline_exceeded', async () => {
    const startedAt = Date.now();
    // 4 s: room for a login shell to print on a loaded machine; far below the command's 30 s.
    const c = await withTimeout(collect(start(bash('echo begun; sleep 30'), { timeoutMs: 4_000 })), 20_000, 'timeout');
    assert.equal(c.error?.code, Code.DeadlineExceeded);
    assert.equal(c.stdout, 'begun\n');
    assert.ok(Date.now() - startedAt < 15_000);
    await sleep(200);
    assert.equal((await fx.process.list({})).processes.some((p) => p.pid === c.pid), false, 'process was killed');
  });

  it('sends keepalive events per Keepalive-Ping-Interval while idle', async () => {
    const c = await withTimeout(collect(start(bash('sleep 2.5; echo late'), { headers: { 'Keepalive-Ping-Interval': '1' } })), 10_000, 'keepalive');
    assert.ok(c.kinds.filter((k) => k === 'keepalive').length >= 2, `kinds: ${c.kinds.join(',')}`);
    assert.equal(c.stdout, 'late\n');
  });

  it('runs a PTY, takes pty input and resizes it', async () => {
    let step = 0;
    const c = await withTimeout(
      collect(start({ process: { cmd: '/bin/bash', args: ['-i', '-l'], envs: { TERM: 'xterm' } }, pty: { size: { cols: 80, rows: 24 } } }), async (cur) => {
        const sel = { selector: { case: 'pid' as const, value: cur.pid } };
        if (cur.pid && step === 0) {
          step = 1;
          await fx.process.sendInput({ process: sel, input: { input: { case: 'pty', value: Buffer.from('stty size\n') } } });
        } else if (step === 1 && cur.pty.includes('24 80')) {
          step = 2;
          await fx.process.update({ process: sel, pty: { size: { cols: 100, rows: 30 } } });
          await fx.process.sendInput({ process: sel, input: { input: { case: 'pty', value: Buffer.from('stty size; exit 3\n') } } });
        }
      }),
      15_000,
      'pty',
    );
    assert.ok(c.pty.includes('24 80'), c.pty);
    assert.ok(c.pty.includes('30 100'), c.pty);
    assert.equal(c.end?.exitCode, 3);
    assert.equal(c.stdout, '');
  });

  it('rejects CloseStdin on a PTY and Update on a non-PTY process', async () => {
    const ptyStream = start({ process: { cmd: '/bin/sleep', args: ['5'], envs: {} }, pty: { size: { cols: 10, rows: 10 } } });
    const pipeStream = start({ process: { cmd: '/bin/sleep', args: ['5'], envs: {} }, stdin: true });
    const [a, b] = [ptyStream[Symbol.asyncIterator](), pipeStream[Symbol.asyncIterator]()];
    const pidOf = (r: IteratorResult<{ event?: ProcessEvent | undefined }>) => (r.value?.event?.event.case === 'start' ? r.value.event.event.value.pid : 0);
    const ptyPid = pidOf(await a.next());
    const pipePid = pidOf(await b.next());
    const closeErr = await rpcError(fx.process.closeStdin({ process: { selector: { case: 'pid', value: ptyPid } } }));
    assert.equal(closeErr.code, Code.Unknown);
    const resizeErr = await rpcError(fx.process.update({ process: { selector: { case: 'pid', value: pipePid } }, pty: { size: { cols: 5, rows: 5 } } }));
    assert.equal(resizeErr.code, Code.Internal);
    for (const pid of [ptyPid, pipePid]) await fx.process.sendSignal({ process: { selector: { case: 'pid', value: pid } }, signal: Signal.SIGTERM });
    await Promise.all([a.return?.(), b.return?.()]);
  });

  it('authenticates users by Basic auth: root works, unknown users are unauthenticated', async () => {
    const root = await collect(start(bash('id -un'), { headers: asUser('root') }));
    assert.equal(root.stdout, 'root\n');
    const bad = await collect(start(bash('id -un'), { headers: asUser('nobody-here-xyz') }));
    assert.equal(bad.error?.code, Code.Unauthenticated);
    assert.match(bad.error?.rawMessage ?? '', /invalid username: 'nobody-here-xyz'/);
  });

  it('runs processes as the selected user with its uid, gid, home and supplementary groups', async () => {
    const user = createTempUser();
    try {
      const c = await collect(start(bash('id -un; id -gn; echo $HOME; pwd; id -Gn'), { headers: asUser(user.name) }));
      const [name, group, home, cwd, groups] = c.stdout.split('\n');
      assert.equal(name, user.name);
      assert.equal(group, user.name);
      assert.equal(home, `/home/${user.name}`);
      assert.equal(cwd, `/home/${user.name}`);
      assert.ok(groups?.split(' ').includes('users'), `groups: ${groups}`);
      const pty = await collect(start({ process: { cmd: '/usr/bin/id', args: ['-un'], envs: {} }, pty: { size: { cols: 80, rows: 24 } } }, { headers: asUser(user.name) }));
      assert.equal(pty.pty.trim(), user.name);
      assert.equal(c.end?.exitCode, 0);
    } finally {
      user.remove();
    }
  });
});
