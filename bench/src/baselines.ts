import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { median, timeRuns } from './stats.js';

const run = (file: string, args: string[]): Promise<void> =>
  new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${file} ${args.join(' ')} exited ${code}`))));
  });

/** Each of `runs` plain host `spawn("true")` calls, in ms. */
export async function hostSpawnTrueRuns(runs: number): Promise<number[]> {
  return timeRuns(runs, () => run('/bin/true', []));
}

/** `runsc run` of `true` on the template root filesystem, no network: gVisor's own floor. */
export async function runscRunTrueMs(rootfsPath: string, runs: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'sandboxd-bench-runsc-'));
  try {
    const spec = {
      ociVersion: '1.0.2',
      process: { terminal: false, user: { uid: 0, gid: 0 }, args: ['/bin/true'], env: ['PATH=/usr/bin:/bin'], cwd: '/' },
      root: { path: rootfsPath, readonly: true },
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
      linux: { namespaces: [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'network' }] },
    };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(spec));
    let n = 0;
    const times = await timeRuns(runs, () =>
      run('runsc', ['--root', join(dir, 'state'), '--platform=systrap', '--network=none', 'run', '--bundle', dir, `bench-true-${process.pid}-${n++}`]),
    );
    return median(times);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Upload then download of `bytes` over plain loopback HTTP to an in-process server, in ms each. */
export async function loopbackHttpTransferMs(bytes: number, runs: number): Promise<{ upload: number; download: number }> {
  const payload = Buffer.alloc(bytes, 7);
  const server = createServer((req, res) => {
    if (req.method === 'POST') {
      req.resume();
      req.on('end', () => res.end('ok'));
    } else res.end(payload);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const call = (method: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method, path: '/' }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      });
      req.on('error', reject);
      req.end(method === 'POST' ? payload : undefined);
    });
  try {
    return { upload: median(await timeRuns(runs, () => call('POST'))), download: median(await timeRuns(runs, () => call('GET'))) };
  } finally {
    server.close();
  }
}
