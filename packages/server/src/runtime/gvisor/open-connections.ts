/**
 * TCP connections of a sandbox that runsc cannot checkpoint: every socket of gVisor's netstack
 * that is neither listening nor talking to the sandbox's own loopback. runsc 20240729 refuses to
 * save such a connection even with `--net-disconnect-ok`, and a refused checkpoint leaves the
 * sandbox unable to run again, so the runtime only checkpoints once this list is empty.
 */
export interface OpenConnection {
  local: string;
  remote: string;
  /** Linux TCP state number (hex in /proc/net/tcp: 01 established, 08 close-wait, ...). */
  state: number;
}

const LISTEN = 0x0a;

/** `0100007F:C34F` (little-endian IPv4 and port, as /proc/net/tcp writes them) → `127.0.0.1:49999`. */
function decodeV4(field: string): string {
  const [ip = '', port = ''] = field.split(':');
  const bytes = ip.match(/../g)?.map((b) => parseInt(b, 16)).reverse() ?? [];
  return `${bytes.join('.')}:${parseInt(port, 16)}`;
}

/** The lines of /proc/net/tcp (IPv4) as gVisor writes them, reduced to connections that block a checkpoint. */
export function parseOpenConnections(procNetTcp: string): OpenConnection[] {
  const open: OpenConnection[] = [];
  for (const line of procNetTcp.split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 4) continue;
    const state = parseInt(fields[3] ?? '', 16);
    if (Number.isNaN(state) || state === LISTEN) continue;
    const local = decodeV4(fields[1] ?? '');
    const remote = decodeV4(fields[2] ?? '');
    if (remote.startsWith('127.') || remote.startsWith('0.0.0.0:')) continue;
    open.push({ local, remote, state });
  }
  return open;
}
