import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { after, before, describe } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Sandbox, type CommandHandle } from 'e2b';
import type { CodeSandbox} from './code-helpers.js';
import { createCodeSandbox } from './code-helpers.js';
import { CALL_MS, RUN_ID, createSandbox, e2eTest, run, waitFor } from './helpers.js';
import { pinnedNode, startStack, withTimeout, type Stack } from './stack.js';

const daemonEntry = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'packages/server/dist/main.js');
/** What "returns within a few seconds" means here. */
const STOP_BOUND_MS = 5_000;
const HTTP_PORT = 8000;

let stack: Stack;
const test = e2eTest(() => stack);
const group = `stop-${RUN_ID}`;

let survivor: Sandbox;
let code: CodeSandbox;
let sleeperPid: number;
let ticker: CommandHandle;
let ticks = 0;
let keepAliveSocket: Socket;
/** Settles when each live stream of the clients has ended one way or another. */
let streams: Promise<unknown>[] = [];
let daemonPid: number;

/** `sandboxd stop` on the stack's home, as a user runs it. */
function sandboxdStop(): Promise<{ ms: number; code: number | null; out: string }> {
  return new Promise((resolveRun, reject) => {
    const started = Date.now();
    const child = spawn(pinnedNode, [daemonEntry, 'stop'], {
      env: { ...process.env, SANDBOXD_HOME: stack.home, SANDBOXD_PORT: String(stack.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (exitCode) => resolveRun({ ms: Date.now() - started, code: exitCode, out }));
  });
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`) && !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));

/** One keep-alive GET through the proxy; resolves with the pooled socket it used. */
function keepAliveGet(agent: Agent, host: string): Promise<Socket> {
  return withTimeout(
    new Promise<Socket>((resolveGet, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port: stack.port, path: '/', headers: { Host: host }, agent }, (res) => {
        res.resume();
        res.on('end', () => (res.statusCode === 200 ? resolveGet(req.socket as Socket) : reject(new Error(`HTTP ${res.statusCode}`))));
      });
      req.on('error', reject);
      req.end();
    }),
    CALL_MS,
    'keep-alive GET',
  );
}

before(async () => {
  stack = await startStack();
  survivor = await createSandbox(stack, { metadata: { group, role: 'survivor' }, timeoutMs: 600_000 });
  code = await createCodeSandbox(stack, { metadata: { group, role: 'code' }, timeoutMs: 600_000 });
  await withTimeout(survivor.files.write('/home/user/before-stop.txt', 'kept'), CALL_MS, 'write');
  const sleeper = await withTimeout(survivor.commands.run('sleep 900', { background: true, timeoutMs: 0 }), CALL_MS, 'sleeper');
  sleeperPid = sleeper.pid;

  // Live streams of every kind the SDK opens.
  ticker = await withTimeout(
    survivor.commands.run('while true; do echo tick; sleep 0.05; done', { background: true, timeoutMs: 0, onStdout: () => void ticks++ }),
    CALL_MS,
    'ticker',
  );
  const pty = await withTimeout(survivor.pty.create({ cols: 80, rows: 24, timeoutMs: 0, onData: () => {} }), CALL_MS, 'pty');
  await withTimeout(survivor.pty.sendInput(pty.pid, new TextEncoder().encode('while true; do date; sleep 0.2; done\n')), CALL_MS, 'pty input');
  await run(survivor, 'mkdir -p /home/user/watched');
  const watcher = await withTimeout(survivor.files.watchDir('/home/user/watched', () => {}, { timeoutMs: 0 }), CALL_MS, 'watchDir');
  const toucher = await withTimeout(
    survivor.commands.run('while true; do touch /home/user/watched/f$RANDOM; sleep 0.3; done', { background: true, timeoutMs: 0 }),
    CALL_MS,
    'toucher',
  );
  const server = await withTimeout(
    survivor.commands.run(`python3 -m http.server ${HTTP_PORT} --protocol HTTP/1.1 --directory /tmp`, { background: true, timeoutMs: 0 }),
    CALL_MS,
    'http server',
  );
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  keepAliveSocket = await waitFor(() => keepAliveGet(agent, survivor.getHost(HTTP_PORT)).catch(() => undefined), 30_000, 'proxied keep-alive GET');
  const execution = code.runCode('import time\nfor i in range(900):\n    print(i, flush=True)\n    time.sleep(0.1)', { onStdout: () => {}, timeoutMs: 0 });
  // Handled from the start: the stop breaks them, which is expected.
  const settle = (p: Promise<unknown>): Promise<string> => p.then(() => 'ended', (err: unknown) => `broke: ${String(err)}`);
  streams = [...[ticker, pty, sleeper, toucher, server].map((h) => h.wait()), execution].map(settle);
  streams.push(new Promise((r) => keepAliveSocket.once('close', r)));
  void watcher;
  await waitFor(async () => ticks > 5, 30_000, 'ticker output flows');
  await new Promise((r) => setTimeout(r, 1_000));
  daemonPid = Number(readFileSync(join(stack.home, 'daemon.pid'), 'utf8').trim());
  assert.ok(alive(daemonPid), `daemon pid ${daemonPid} is alive`);
});
after(async () => {
  await stack?.stop();
});

describe('sandboxd stop with live streams', () => {
  test('returns within a few seconds, the daemon is gone and every client stream has ended', 60_000, async () => {
    const stopped = await sandboxdStop();
    assert.equal(stopped.code, 0, stopped.out);
    assert.match(stopped.out, new RegExp(`stopped \\(pid ${daemonPid}\\)`));
    assert.ok(stopped.ms < STOP_BOUND_MS, `sandboxd stop took ${stopped.ms} ms: ${stopped.out}`);
    assert.equal(alive(daemonPid), false, 'the daemon process is gone');
    await withTimeout(Promise.all(streams), STOP_BOUND_MS, 'client streams end after the stop');
    assert.ok(keepAliveSocket.destroyed, 'the proxied keep-alive connection is closed');
    const log = stack.log();
    assert.match(log, /daemon closed/);
    assert.doesNotMatch(log, /exiting anyway/);
  });

  test('sandboxes survive the stop and are adopted on the next start', 120_000, async () => {
    await stack.restart();
    const ids: string[] = [];
    const paginator = Sandbox.list({ ...stack.sdk, query: { metadata: { group } } });
    while (paginator.hasNext) ids.push(...(await withTimeout(paginator.nextItems(), CALL_MS, 'list')).map((s) => s.sandboxId));
    assert.deepEqual(ids.sort(), [survivor.sandboxId, code.sandboxId].sort());
    assert.equal((await run(survivor, 'cat /home/user/before-stop.txt')).stdout, 'kept');
    const processes = await withTimeout(survivor.commands.list(), CALL_MS, 'commands.list');
    const pids = processes.map((p) => p.pid);
    assert.ok(pids.includes(sleeperPid), `sleeper ${sleeperPid} not in ${JSON.stringify(pids)}`);
    assert.ok(pids.includes(ticker.pid), `ticker ${ticker.pid} kept running: ${JSON.stringify(pids)}`);
    const execution = await withTimeout(code.runCode('1 + 1'), CALL_MS, 'runCode after restart');
    assert.equal(execution.text, '2');
    // and a stop with nothing open is quick too
    const idle = await sandboxdStop();
    assert.ok(idle.ms < STOP_BOUND_MS, `idle stop took ${idle.ms} ms: ${idle.out}`);
    await stack.restart();
  });
});
