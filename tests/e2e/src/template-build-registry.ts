import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** A local registry (Debian's docker-registry) on loopback, with basic auth, and an image pushed to it. */
export interface LocalRegistry {
  /** `127.0.0.1:<port>` */
  host: string;
  username: string;
  password: string;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** The host's Debian mirror, as the default template's build uses it. */
function hostMirror(): string {
  const sources = [readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8'), ''].join('\n');
  return /^URIs:\s*(\S+\/debian)\/?$/m.exec(sources)?.[1] ?? 'http://deb.debian.org/debian';
}

export async function startRegistry(): Promise<LocalRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'sandboxd-registry-'));
  const port = await freePort();
  const username = 'tester';
  const password = `pw-${process.pid}`;
  // The registry takes bcrypt entries only; glibc's libcrypt makes them.
  const { stdout } = await exec('python3', ['-c', 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_BLOWFISH)))', password]);
  writeFileSync(join(dir, 'htpasswd'), `${username}:${stdout.trim()}\n`);
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      'auth:',
      '  htpasswd:',
      '    realm: sandboxd-test',
      `    path: ${join(dir, 'htpasswd')}`,
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn('docker-registry', ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const res = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined);
    if (res && (res.status === 200 || res.status === 401)) break;
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr.slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    host: `127.0.0.1:${port}`,
    username,
    password,
    async stop() {
      child.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Builds a small Debian image (mmdebstrap minbase: no Python, no Node, no `user`, no useradd, no
 * sudo) with an env, a working directory and an entrypoint, and pushes it as `<host>/<name>`.
 */
export async function pushTestImage(registry: LocalRegistry, name: string, config: { env: string; workdir: string }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sandboxd-image-'));
  try {
    const layout = join(dir, 'oci');
    await exec('mmdebstrap', ['--variant=minbase', '--mode=root', '--format=tar', '--quiet', 'bookworm', join(dir, 'rootfs.tar'), hostMirror()], { maxBuffer: 64 * 1024 * 1024 });
    await exec('umoci', ['init', '--layout', layout]);
    await exec('umoci', ['new', '--image', `${layout}:t`]);
    await exec('umoci', ['unpack', '--image', `${layout}:t`, join(dir, 'bundle')]);
    await exec('tar', ['-xf', join(dir, 'rootfs.tar'), '-C', join(dir, 'bundle', 'rootfs')]);
    await exec('umoci', ['repack', '--image', `${layout}:t`, join(dir, 'bundle')]);
    await exec('umoci', ['config', '--image', `${layout}:t`, '--config.env', config.env, '--config.workingdir', config.workdir, '--config.entrypoint', '/bin/sh', '--config.cmd', '-c', '--config.cmd', 'echo started > /tmp/entry-ran && exec sleep 3600']);
    await exec('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', `${registry.username}:${registry.password}`, `oci:${layout}:t`, `docker://${registry.host}/${name}`]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
