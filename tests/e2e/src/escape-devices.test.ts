import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { CALL_MS, createSandbox, e2eTest, run } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

// Root inside a default sandbox going after host devices, the cloud metadata address, host
// namespaces, and the file API's path handling. Nothing may reach the host.
const PROBE = String.raw`
import ctypes, json, os, socket, stat
libc = ctypes.CDLL(None, use_errno=True)
results = {}
def attempt(name, fn):
    try:
        results[name] = 'ok: ' + str(fn())
    except Exception as e:
        results[name] = 'refused: ' + type(e).__name__ + ' ' + str(getattr(e, 'errno', ''))
# A block device node of the host's first disk, made as root: opening it must not give the disk.
def block_device():
    if not os.path.exists('/tmp/sda'):
        os.mknod('/tmp/sda', stat.S_IFBLK | 0o600, os.makedev(253, 0))
    with open('/tmp/sda', 'rb') as fh:
        return len(fh.read(512))
attempt('block device', block_device)
def char_mem():
    if not os.path.exists('/tmp/mem'):
        os.mknod('/tmp/mem', stat.S_IFCHR | 0o600, os.makedev(1, 1))
    with open('/tmp/mem', 'rb') as fh:
        return len(fh.read(64))
attempt('/dev/mem node', char_mem)
results['dev entries'] = sorted(os.listdir('/dev'))
def metadata():
    s = socket.create_connection(('169.254.169.254', 80), timeout=3)
    s.sendall(b'GET / HTTP/1.0\r\n\r\n')
    return s.recv(100)
attempt('metadata', metadata)
# Joining the host's namespaces through /proc: PID 1 here is the sandbox's own init.
results['pid 1'] = open('/proc/1/cmdline', 'rb').read().split(b'\0')[0].decode()
attempt('setns host net', lambda: libc.setns(os.open('/proc/1/ns/net', os.O_RDONLY), 0) or ctypes.get_errno())
attempt('kernel modules', lambda: open('/proc/modules').read()[:50])
print(json.dumps(results))
`;

let stack: Stack;
let attacker: Sandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  attacker = await createSandbox(stack);
});

after(async () => {
  await attacker?.kill().catch(() => undefined);
  await stack?.stop();
});

describe('isolation: devices, metadata, namespaces, file API paths', () => {
  test('device nodes made as root give no host device; no metadata service; PID 1 is the sandbox init', 120_000, async () => {
    await withTimeout(attacker.files.write('/tmp/probe.py', PROBE), CALL_MS, 'write probe');
    const out = (await run(attacker, 'python3 /tmp/probe.py', { user: 'root' })).stdout;
    const results = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, string | string[]>;
    assert.match(String(results['block device']), /^refused/, `block device: ${results['block device']}`);
    assert.match(String(results['/dev/mem node']), /^refused/, `/dev/mem: ${results['/dev/mem node']}`);
    const dev = results['dev entries'] as string[];
    for (const forbidden of ['kvm', 'mem', 'kmsg', 'sda', 'vda', 'loop0', 'nvme0']) assert.ok(!dev.includes(forbidden), `/dev/${forbidden} is visible`);
    assert.match(String(results['metadata']), /^refused/, `metadata: ${results['metadata']}`);
    assert.match(String(results['pid 1']), /tini/);
    assert.doesNotMatch(String(results['kernel modules']), /^ok: \w+ \d+/, 'host kernel modules are not listed');
  });

  test('the file API cannot write outside the sandbox through traversal, symlinks or /proc', 120_000, async () => {
    const marker = `fileapi${Math.random().toString(36).slice(2, 10)}`;
    await run(attacker, 'ln -sfn /opt/sandboxd /tmp/agent-link && ln -sfn /run/sandboxd /tmp/run-link', { user: 'root' });
    const targets = [
      `/opt/sandboxd/${marker}`,
      `/tmp/agent-link/${marker}`,
      `/tmp/run-link/${marker}`,
      `/home/user/../../opt/sandboxd/${marker}`,
      `/proc/1/root/opt/sandboxd/${marker}`,
      `/run/sandboxd/agent.json`,
    ];
    for (const path of targets) {
      const result = await withTimeout(
        attacker.files.write(path, marker, { user: 'root' }).then(
          () => 'written',
          (err: unknown) => `refused: ${String(err)}`,
        ),
        CALL_MS,
        `write ${path}`,
      );
      assert.match(result, /^refused/, `${path} was ${result}`);
    }
    // The agent's token file is unchanged and the marker is nowhere on the host's served paths.
    const agentJson = `${stack.home}/sandboxes/${attacker.sandboxId}/run/agent.json`;
    assert.ok(existsSync(agentJson));
    assert.doesNotMatch(readFileSync(agentJson, 'utf8'), new RegExp(marker));
    const listing = (await run(attacker, 'ls /opt/sandboxd /run/sandboxd', { user: 'root' })).stdout;
    assert.doesNotMatch(listing, new RegExp(marker));
  });
});
