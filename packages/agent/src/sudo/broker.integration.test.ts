/**
 * End-to-end tests of the sudo broker and both shims (Python, and Node.js for images without
 * /usr/bin/python3): the broker runs in this (root) process, the shim as a throw-away
 * unprivileged system account. Fails loudly unless run as root with useradd.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { spawn as spawnPty } from 'node-pty';
import { startSudoBroker } from './broker.js';
import type { SudoBroker } from './broker.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON_SHIM = join(HERE, '..', '..', 'sudo', 'sudo');
/** The bundle the build makes (scripts/bundle-agent.mjs); its shebang names the sandbox's Node, so here it runs on this one. */
const NODE_SHIM = join(HERE, '..', '..', 'dist', 'sudo-shim.mjs');
const canRun = process.getuid?.() === 0 && existsSync('/usr/sbin/useradd') && existsSync('/usr/bin/python3');
const SOCKET_BASE = `@sandboxd-sudo-test-${process.pid}`;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

interface RunOptions {
  input?: Buffer | string;
  env?: Record<string, string>;
  asRoot?: boolean;
  socket?: string;
  /** Called once the child runs, for signalling tests. */
  onSpawn?: (child: ReturnType<typeof spawn>) => void;
}

for (const shimKind of ['python', 'node'] as const)
  describe(`sudo broker + ${shimKind} shim`, () => {
    const userName = `sbxsudo${shimKind[0]}${process.pid}`;
    /** The shim's command line: the Node one through a link named `sudo` (its program name), as /usr/bin/sudo is. */
    let SHIM = PYTHON_SHIM;
    let shimArgs: string[] = [];
    let uid = 0;
    let gid = 0;
    let broker: SudoBroker | undefined;
    let scratch = '';
    const SOCKET = `${SOCKET_BASE}-${shimKind}`;

    before(async () => {
      // The suite runs as root (as CI does); without root it fails loudly instead of skipping.
      assert.ok(canRun, 'the sudo tests need root, useradd and /usr/bin/python3');
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/bin/sh', userName]);
      uid = Number(execFileSync('id', ['-u', userName], { encoding: 'utf8' }).trim());
      gid = Number(execFileSync('id', ['-g', userName], { encoding: 'utf8' }).trim());
      scratch = mkdtempSync(join(tmpdir(), 'sudo-test-'));
      chmodSync(scratch, 0o755);
      broker = await startSudoBroker({ socketPath: SOCKET });
      if (shimKind === 'node') {
        assert.ok(existsSync(NODE_SHIM), `${NODE_SHIM} is missing: run npm run build`);
        symlinkSync(NODE_SHIM, join(scratch, 'sudo'));
        SHIM = process.execPath;
        shimArgs = [join(scratch, 'sudo')];
      }
    });

    after(async () => {
      await broker?.close();
      try {
        execFileSync('userdel', [userName]);
      } catch {
        // already gone
      }
      rmSync(scratch, { recursive: true, force: true });
    });

    const run = (args: string[], opts: RunOptions = {}): Promise<Result> =>
      new Promise((resolvePromise, reject) => {
        const child = spawn(SHIM, [...shimArgs, ...args], {
          cwd: '/',
          env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8', SANDBOXD_SUDO_SOCKET: opts.socket ?? SOCKET, ...opts.env },
          stdio: ['pipe', 'pipe', 'pipe'],
          ...(opts.asRoot ? {} : { uid, gid }),
        });
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.stdin.on('error', () => undefined);
        child.on('error', reject);
        child.on('close', (code, signal) => resolvePromise({ code, signal, stdout: Buffer.concat(out), stderr: err }));
        if (opts.input !== undefined) child.stdin.end(opts.input);
        opts.onSpawn?.(child);
      });

    it('runs the command as root', async () => {
      const r = await run(['whoami']);
      assert.equal(r.stderr, '');
      assert.equal(r.stdout.toString(), 'root\n');
      assert.equal(r.code, 0);
    });

    it('passes exit codes through and keeps stderr apart', async () => {
      const r = await run(['sh', '-c', 'echo out; echo err >&2; exit 7']);
      assert.equal(r.code, 7);
      assert.equal(r.stdout.toString(), 'out\n');
      assert.equal(r.stderr, 'err\n');
    });

    it('pipes stdin: echo x | sudo tee file', async () => {
      const file = join(scratch, 'tee-out');
      const r = await run(['tee', file], { input: 'x\n' });
      assert.equal(r.code, 0);
      assert.equal(r.stdout.toString(), 'x\n');
      assert.equal(readFileSync(file, 'utf8'), 'x\n');
      assert.equal(statSync(file).uid, 0);
    });

    it('relays binary data both ways without loss', async () => {
      const data = Buffer.alloc(3 * 1024 * 1024 + 17);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) & 0xff;
      const r = await run(['cat'], { input: data });
      assert.equal(r.code, 0);
      assert.ok(r.stdout.equals(data), `got ${r.stdout.length} bytes back`);
    });

    it('closes stdin at EOF so stdin readers finish', async () => {
      const r = await run(['wc', '-c'], { input: 'abc' });
      assert.equal(r.stdout.toString().trim(), '3');
    });

    it('-u switches to another user', async () => {
      const r = await run(['-u', userName, 'sh', '-c', 'id -un; id -u']);
      assert.equal(r.code, 0);
      assert.equal(r.stdout.toString(), `${userName}\n${uid}\n`);
      const byUid = await run([`-u#${uid}`, 'id', '-u']);
      assert.equal(byUid.stdout.toString(), `${uid}\n`);
    });

    it('resets the environment unless -E / --preserve-env, and honours VAR=value', async () => {
      const env = { FOO: 'bar', BAZ: 'qux' };
      const reset = await run(['env'], { env });
      const resetEnv = reset.stdout.toString();
      assert.doesNotMatch(resetEnv, /^FOO=/m);
      assert.match(resetEnv, /^HOME=\/root$/m);
      assert.match(resetEnv, /^USER=root$/m);
      assert.match(resetEnv, new RegExp(`^SUDO_USER=${userName}$`, 'm'));
      assert.match(resetEnv, new RegExp(`^SUDO_UID=${uid}$`, 'm'));
      assert.match(resetEnv, /^LANG=C\.UTF-8$/m);
      const kept = (await run(['-E', 'env'], { env })).stdout.toString();
      assert.match(kept, /^FOO=bar$/m);
      assert.match(kept, /^BAZ=qux$/m);
      assert.match(kept, /^USER=root$/m);
      const some = (await run(['--preserve-env=FOO', 'env'], { env })).stdout.toString();
      assert.match(some, /^FOO=bar$/m);
      assert.doesNotMatch(some, /^BAZ=/m);
      const assigned = (await run(['X1=hello world', 'env'], { env })).stdout.toString();
      assert.match(assigned, /^X1=hello world$/m);
    });

    it('-s and -i run shells, with the command quoted the way sudo does', async () => {
      const s = await run(['-s', 'echo', 'a b', '$HOME'], { env: { SHELL: '/bin/sh' } });
      assert.equal(s.stdout.toString(), 'a b /root\n');
      const i = await run(['-i', 'pwd']);
      assert.equal(i.stdout.toString(), '/root\n');
    });

    it('forwards SIGTERM to the command', async () => {
      const r = await run(['sh', '-c', 'trap "echo got-term; exit 9" TERM; echo ready; while :; do sleep 0.05; done'], {
        onSpawn: (child) => {
          child.stdout?.once('data', () => child.kill('SIGTERM'));
        },
      });
      assert.equal(r.code, 9);
      assert.equal(r.stdout.toString(), 'ready\ngot-term\n');
    });

    it('exits 128+n when the command dies of a signal', async () => {
      const r = await run(['sh', '-c', 'echo ready; exec sleep 30'], {
        onSpawn: (child) => {
          child.stdout?.once('data', () => child.kill('SIGINT'));
        },
      });
      assert.equal(r.code, 130);
    });

    it('gives the command SIGPIPE when stdout goes away (sudo yes | head -1)', async () => {
      const r = await run(['yes'], {
        onSpawn: (child) => {
          child.stdout?.once('data', () => child.stdout?.destroy());
        },
      });
      assert.equal(r.code, 141);
    });

    it('reports unknown commands and users like sudo', async () => {
      const nf = await run(['no-such-command-xyz']);
      assert.equal(nf.code, 1);
      assert.match(nf.stderr, /sudo: no-such-command-xyz: command not found/);
      const nu = await run(['-u', 'no-such-user-xyz', 'true']);
      assert.equal(nu.code, 1);
      assert.match(nu.stderr, /unknown user no-such-user-xyz/);
    });

    it('answers -n, -v, -k, -l, -V without a broker round trip', async () => {
      assert.equal((await run(['-n', 'true'])).code, 0);
      assert.equal((await run(['-v'])).code, 0);
      assert.equal((await run(['-k'])).code, 0);
      const l = await run(['-l']);
      assert.equal(l.code, 0);
      assert.match(l.stdout.toString(), new RegExp(`User ${userName} may run the following commands`));
      assert.match(l.stdout.toString(), /\(ALL : ALL\) NOPASSWD: ALL/);
      assert.match((await run(['-V'])).stdout.toString(), /^Sudo version/);
      const usage = await run([]);
      assert.equal(usage.code, 1);
      assert.match(usage.stderr, /usage: sudo/);
    });

    it('fails clearly when the broker is unreachable', async () => {
      const r = await run(['true'], { socket: '@sandboxd-sudo-test-nobody-listens' });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /sudo: unable to reach the sandboxd sudo broker at @sandboxd-sudo-test-nobody-listens/);
    });

    it('executes directly when already root', async () => {
      const r = await run(['-u', userName, 'id', '-un'], { asRoot: true, socket: '@sandboxd-sudo-test-nobody-listens' });
      assert.equal(r.code, 0);
      assert.equal(r.stdout.toString(), `${userName}\n`);
      const code = await run(['sh', '-c', 'exit 5'], { asRoot: true, socket: '@sandboxd-sudo-test-nobody-listens' });
      assert.equal(code.code, 5);
    });

    const runPty = (args: string[], input: string[] = []): Promise<{ code: number; output: string }> =>
      new Promise((resolvePromise) => {
        const pty = spawnPty(SHIM, [...shimArgs, ...args], {
          cols: 100,
          rows: 30,
          cwd: '/',
          env: { PATH: '/usr/bin:/bin', TERM: 'xterm', SANDBOXD_SUDO_SOCKET: SOCKET, SHELL: '/bin/sh' },
          uid,
          gid,
        });
        let output = '';
        let sent = 0;
        pty.onData((d) => {
          output += d;
          if (sent < input.length) {
            for (const line of input) pty.write(line);
            sent = input.length;
          }
        });
        pty.onExit(({ exitCode }) => resolvePromise({ code: exitCode, output }));
      });

    it('runs on a pseudo-terminal of the same size when stdin and stdout are terminals', async () => {
      const r = await runPty(['sh', '-c', 'test -t 0 && test -t 1 && echo IS-TTY; stty size; id -u; exit 4']);
      assert.equal(r.code, 4);
      assert.match(r.output, /IS-TTY/);
      assert.match(r.output, /30 100/);
      assert.match(r.output, /\b0\r?\n/);
    });

    it('supports an interactive shell with -s', async () => {
      const r = await runPty(['-s'], ['echo $((6*7))x\r', 'exit 3\r']);
      assert.equal(r.code, 3);
      assert.match(r.output, /42x/);
    });

    it('listens on a filesystem socket, world-connectable', async () => {
      const path = join(scratch, 'run', 'sudo.sock');
      const fsBroker = await startSudoBroker({ socketPath: path });
      try {
        assert.equal(statSync(path).mode & 0o777, 0o666);
        assert.equal(statSync(dirname(path)).mode & 0o777, 0o755);
        const r = await run(['id', '-u'], { socket: path });
        assert.equal(r.stdout.toString(), '0\n');
      } finally {
        await fsBroker.close();
      }
      assert.equal(existsSync(path), false);
    });
  });
