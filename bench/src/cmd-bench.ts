import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Sandbox } from 'e2b';
import type { Stack } from '@sandboxd/e2e/stack';
import { hostSpawnTrueRuns } from './baselines.js';
import { median, percentile, type BenchRow } from './stats.js';

/** Every `current` console log under a sandbox's directory of the daemon's home. */
function agentLogLines(home: string, sandboxId: string): string[] {
  const lines: string[] = [];
  const walk = (dir: string, depth: number): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      if (name === 'current') lines.push(...readFileSync(path, 'utf8').split('\n'));
      else if (depth < 4 && statSync(path, { throwIfNoEntry: false })?.isDirectory()) walk(path, depth + 1);
    }
  };
  walk(join(home, 'sandboxes', sandboxId), 0);
  return lines;
}

/** The `trace` of the agent's `process ended` lines for `/bin/true`-like commands (SANDBOXD_AGENT_TRACE=1). */
function traces(home: string, sandboxId: string): Array<Record<string, number | string>> {
  const out: Array<Record<string, number | string>> = [];
  for (const line of agentLogLines(home, sandboxId)) {
    const at = line.indexOf('{');
    if (at < 0 || !line.includes('process ended')) continue;
    try {
      const entry = JSON.parse(line.slice(at)) as { cmd?: string; trace?: Record<string, number | string> };
      if (entry.trace && entry.cmd === '/bin/bash -l -c true') out.push(entry.trace);
    } catch {
      // not one of ours
    }
  }
  return out;
}

const ms = (t0: number): number => performance.now() - t0;

/** What a spawn costs inside gVisor, piece by piece (medians; printed as one JSON object). */
const FLOOR_SCRIPT = `import json, mmap, os, signal, time
def med(f, n=20):
    t = []
    for _ in range(n):
        s = time.monotonic(); f(); t.append((time.monotonic() - s) * 1000)
    t.sort(); return t[len(t) // 2]
def spawn(argv, **kw):
    return lambda: os.waitpid(os.posix_spawn(argv[0], argv, dict(os.environ), **kw), 0)
sigs = [s for s in signal.valid_signals() if s not in (signal.SIGKILL, signal.SIGSTOP)]
def getppid_loop():
    for _ in range(1000): os.getppid()
def touch_pages():
    m = mmap.mmap(-1, 256 * 4096)
    for i in range(256): m[i * 4096] = 1
    m.close()
out = {
  "posix_spawn('/bin/true') + wait (ms)": med(spawn(["/bin/true"])),
  "posix_spawn('/bin/bash -c true') + wait (ms)": med(spawn(["/bin/bash", "-c", "true"])),
  "the same with every signal reset, as the spawner does (ms)": med(spawn(["/bin/bash", "-c", "true"], setsigdef=sigs, setsigmask=[])),
  "posix_spawn('/bin/bash -l -c true') + wait (ms)": med(spawn(["/bin/bash", "-l", "-c", "true"])),
  "fork() + exec('/bin/true') from Python + wait (ms)": med(lambda: os.waitpid(os.fork() or os.execv("/bin/true", ["/bin/true"]), 0)),
  "one getppid() syscall (us)": med(getppid_loop, 5),
  "first touch of one fresh anonymous page (us)": med(touch_pages, 5) * 1000 / 256,
}
print(json.dumps(out))
`;

/** Time from `pty.create` until the login shell ran a line typed right away (its output seen). */
async function ptyReadyMs(sbx: Sandbox): Promise<{ created: number; answered: number }> {
  const t0 = performance.now();
  let seen = '';
  let answered = 0;
  let done: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const handle = await sbx.pty.create({
    cols: 80,
    rows: 24,
    onData: (data: Uint8Array) => {
      seen += Buffer.from(data).toString();
      // The shell's own output (6*7), not the terminal's echo of what was typed.
      if (answered === 0 && seen.includes('42-ready')) {
        answered = ms(t0);
        done();
      }
    },
  });
  const created = ms(t0);
  await sbx.pty.sendInput(handle.pid, new TextEncoder().encode('echo $((6*7))-ready\n'));
  await Promise.race([finished, new Promise((r) => setTimeout(r, 60_000))]);
  await handle.kill();
  return { created, answered };
}

/**
 * `commands.run("true")` and `pty.create` (issue 12): two sandboxes of the same run, one as
 * shipped, one with `SANDBOXD_AGENT_FAST_SPAWN=off` (every command forked by the agent through
 * setpriv and `bash -l`, PTYs by node-pty), interleaved so that both see the same load; the
 * agent's own trace of where each command's time went; a bare `GET /health` through the proxy.
 */
export async function benchCmd(stack: Stack, rounds = Number(process.env['SANDBOXD_BENCH_CMD_ROUNDS'] ?? 30)): Promise<BenchRow[]> {
  const opts = { ...stack.sdk, requestTimeoutMs: 300_000, timeoutMs: 900_000 };
  const fast = await Sandbox.create('base', { ...opts, envs: { SANDBOXD_AGENT_TRACE: '1' } });
  const slow = await Sandbox.create('base', { ...opts, envs: { SANDBOXD_AGENT_TRACE: '1', SANDBOXD_AGENT_FAST_SPAWN: 'off' } });
  const rows: BenchRow[] = [];
  try {
    for (let i = 0; i < 3; i++) await Promise.all([fast.commands.run('true'), slow.commands.run('true')]);
    const a: number[] = [];
    const b: number[] = [];
    const health: number[] = [];
    for (let i = 0; i < rounds; i++) {
      let t0 = performance.now();
      await fast.commands.run('true');
      a.push(ms(t0));
      t0 = performance.now();
      await slow.commands.run('true');
      b.push(ms(t0));
      t0 = performance.now();
      const res = await fetch(`${stack.sdk.apiUrl}/health`, { headers: { 'E2b-Sandbox-Id': fast.sandboxId, 'E2b-Sandbox-Port': '49983' } });
      await res.arrayBuffer();
      health.push(ms(t0));
    }
    const host = await hostSpawnTrueRuns(rounds);
    const slowName = 'same, `SANDBOXD_AGENT_FAST_SPAWN=off` (setpriv + `bash -l`, forked by the agent)';
    rows.push({ name: '`commands.run("true")` p50, interleaved A/B', value: median(a), unit: 'ms', baselineName: slowName, baseline: median(b) });
    rows.push({ name: '`commands.run("true")` p95, interleaved A/B', value: percentile(a, 95), unit: 'ms', baselineName: slowName, baseline: percentile(b, 95) });
    rows.push({ name: '`commands.run("true")` p50', value: median(a), unit: 'ms', baselineName: 'host `spawn("true")` p50', baseline: median(host) });
    rows.push({ name: '`GET /health` through the proxy to envd (no spawn), p50', value: median(health), unit: 'ms', baselineName: '`commands.run("true")` p50', baseline: median(a) });

    // Where the time went inside the agent (medians of the traced commands of each sandbox).
    for (const [label, sbx] of [
      ['spawner', fast],
      ['FAST_SPAWN=off', slow],
    ] as const) {
      const t = traces(stack.home, sbx.sandboxId);
      const keys = new Set(t.flatMap((x) => Object.keys(x).filter((k) => typeof x[k] === 'number')));
      for (const key of keys) {
        const values = t.map((x) => x[key]).filter((v): v is number => typeof v === 'number');
        const value = median(values);
        rows.push({ name: `agent trace (${label}, ${values.length} commands): ${key}`, value: key.endsWith('Us') ? value / 1000 : value, unit: 'ms', baselineName: '`commands.run("true")` p50', baseline: median(a) });
      }
    }

    // The spawn floor inside gVisor, piece by piece, with the template's Python (as the spawner does).
    await fast.files.write('/tmp/sandboxd-bench-floor.py', FLOOR_SCRIPT);
    const floor = JSON.parse((await fast.commands.run('python3 /tmp/sandboxd-bench-floor.py', { timeoutMs: 600_000 })).stdout) as Record<string, number>;
    for (const [key, value] of Object.entries(floor)) {
      const micro = key.endsWith('(us)');
      rows.push({ name: `inside gVisor: ${key.replace(/ \((us|ms)\)$/, '')}, p50`, value, unit: micro ? 'µs' : 'ms', baselineName: '`commands.run("true")` p50', baseline: micro ? median(a) * 1000 : median(a) });
    }

    // PTY: create until the login shell answered a line typed at once, interleaved.
    const ptyFast: number[] = [];
    const ptySlow: number[] = [];
    const ptyCreateFast: number[] = [];
    const ptyCreateSlow: number[] = [];
    await ptyReadyMs(fast);
    await ptyReadyMs(slow);
    for (let i = 0; i < Math.max(3, Math.round(rounds / 3)); i++) {
      const f = await ptyReadyMs(fast);
      ptyFast.push(f.answered);
      ptyCreateFast.push(f.created);
      const s = await ptyReadyMs(slow);
      ptySlow.push(s.answered);
      ptyCreateSlow.push(s.created);
    }
    rows.push({ name: '`pty.create` → start event, p50', value: median(ptyCreateFast), unit: 'ms', baselineName: 'same, `SANDBOXD_AGENT_FAST_SPAWN=off` (node-pty fork + setpriv)', baseline: median(ptyCreateSlow) });
    rows.push({ name: '`pty.create` → login shell answered a line typed at once, p50', value: median(ptyFast), unit: 'ms', baselineName: 'same, `SANDBOXD_AGENT_FAST_SPAWN=off` (node-pty fork + setpriv)', baseline: median(ptySlow) });
  } finally {
    await Promise.all([fast.kill(), slow.kill()]);
  }
  return rows;
}
