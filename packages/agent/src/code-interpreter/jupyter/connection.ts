/** Jupyter connection files: five TCP ports on loopback plus the HMAC key. */
import { randomBytes } from 'node:crypto';
import { chown, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface ConnectionInfo {
  transport: 'tcp' | 'ipc';
  ip: string;
  shell_port: number;
  iopub_port: number;
  stdin_port: number;
  control_port: number;
  hb_port: number;
  key: string;
  signature_scheme: 'hmac-sha256';
  kernel_name: string;
}

/** Asks the OS for a free loopback port (released again before the kernel binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Connection info over Unix sockets: `<prefix>-<n>` files (Jupyter's ipc naming); `prefix` must
 * lie in a directory the kernel's user can create files in.
 */
export function createIpcConnectionInfo(kernelName: string, prefix: string): ConnectionInfo {
  return {
    transport: 'ipc',
    ip: prefix,
    shell_port: 1,
    iopub_port: 2,
    stdin_port: 3,
    control_port: 4,
    hb_port: 5,
    key: randomBytes(32).toString('hex'),
    signature_scheme: 'hmac-sha256',
    kernel_name: kernelName,
  };
}

export async function createConnectionInfo(kernelName: string): Promise<ConnectionInfo> {
  // Sequential so the five ports differ (the OS does not hand out a just-freed port at once).
  const ports: number[] = [];
  while (ports.length < 5) {
    const port = await freePort();
    if (!ports.includes(port)) ports.push(port);
  }
  return {
    transport: 'tcp',
    ip: '127.0.0.1',
    shell_port: ports[0]!,
    iopub_port: ports[1]!,
    stdin_port: ports[2]!,
    control_port: ports[3]!,
    hb_port: ports[4]!,
    key: randomBytes(32).toString('hex'),
    signature_scheme: 'hmac-sha256',
    kernel_name: kernelName,
  };
}

/** Writes the file readable by the kernel's user only (mode 0600, owned by uid/gid). */
export async function writeConnectionFile(
  dir: string,
  id: string,
  info: ConnectionInfo,
  owner?: { uid: number; gid: number },
): Promise<string> {
  const path = join(dir, `kernel-${id}.json`);
  await writeFile(path, JSON.stringify(info), { mode: 0o600 });
  if (owner) await chown(path, owner.uid, owner.gid);
  return path;
}

export function endpoint(info: ConnectionInfo, port: number): string {
  return info.transport === 'ipc' ? `ipc://${info.ip}-${port}` : `${info.transport}://${info.ip}:${port}`;
}
