import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import type { Sandbox } from 'e2b';
import { CALL_MS, createSandbox, e2eTest, run } from './helpers.js';
import { startStack, withTimeout, type Stack } from './stack.js';

// The attacker: root inside a default sandbox, with its own user and mount namespaces, using the
// mount syscall directly (the template has no mount(8)), trying every way to write through a
// host-backed mount. Nothing may reach the host.
const ATTACK = String.raw`
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
MS_RDONLY, MS_REMOUNT, MS_BIND, MS_REC = 1, 32, 4096, 16384
marker = sys.argv[1]
def mount(src, tgt, flags):
    r = libc.mount(src.encode(), tgt.encode(), None, flags, None)
    return 'ok' if r == 0 else os.strerror(ctypes.get_errno())
def write(path):
    try:
        with open(path, 'a') as fh: fh.write(marker)
        return 'written'
    except OSError as e:
        return e.strerror
results = {}
targets = ['/opt/sandboxd', '/opt/sandboxd/packages/agent/python', '/run/sandboxd', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname']
for t in targets:
    results['remount ' + t] = [mount('', t, MS_REMOUNT | MS_BIND), mount('', t, MS_REMOUNT)]
    results['write ' + t] = write(os.path.join(t, marker) if os.path.isdir(t) else t)
results['overwrite bundle'] = write('/opt/sandboxd/packages/agent/dist/agent.bundle.mjs')
results['write agent.json'] = write('/run/sandboxd/agent.json')
os.makedirs('/mnt/' + marker, exist_ok=True)
results['bind'] = [mount('/opt/sandboxd', '/mnt/' + marker, MS_BIND | MS_REC), mount('', '/mnt/' + marker, MS_REMOUNT | MS_BIND)]
results['write bind'] = write('/mnt/' + marker + '/' + marker)
results['write proc root'] = write('/proc/1/root/opt/sandboxd/' + marker)
try:
    os.link('/opt/sandboxd/packages/agent/sudo/sudo', '/tmp/' + marker + '-link')
    results['hard link'] = write('/tmp/' + marker + '-link')
except OSError as e:
    results['hard link'] = e.strerror
try:
    os.symlink('/opt/sandboxd/packages/agent/sudo/sudo', '/tmp/' + marker + '-sym')
    results['symlink'] = write('/tmp/' + marker + '-sym')
except OSError as e:
    results['symlink'] = e.strerror
import json
print(json.dumps(results))
`;

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

/** Every file under `dir` (bounded depth) whose content or name holds `marker`. */
function findMarker(dir: string, marker: string, depth = 6): string[] {
  const found: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return found;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (name.includes(marker)) found.push(path);
    if (depth > 0 && !name.startsWith('.git') && name !== 'node_modules') found.push(...findMarker(path, marker, depth - 1));
  }
  return found;
}

let stack: Stack;
let attacker: Sandbox;
let bystander: Sandbox;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
  [attacker, bystander] = await Promise.all([createSandbox(stack), createSandbox(stack)]);
});

after(async () => {
  await Promise.all([attacker?.kill().catch(() => undefined), bystander?.kill().catch(() => undefined)]);
  await stack?.stop();
});

describe('isolation: nothing inside a sandbox writes the host', () => {
  test('the agent mount holds only what the agent needs, never the checkout', 60_000, async () => {
    const listing = (await run(attacker, 'ls -a /opt/sandboxd /opt/sandboxd/packages /opt/sandboxd/node_modules', { user: 'root' })).stdout;
    assert.doesNotMatch(listing, /\bserver\b|\.git\b|better-sqlite3|tests\b|scripts\b/);
    assert.match(listing, /agent/);
    const mountInfo = (await run(attacker, 'cat /proc/self/mountinfo', { user: 'root' })).stdout;
    assert.doesNotMatch(mountInfo, new RegExp(repoRoot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  for (const how of ['as root', 'in a new user and mount namespace (unshare -Urm)'] as const) {
    test(`root ${how}: remounts, binds, /proc/*/root, links: every write to a host path is refused`, 120_000, async () => {
      const marker = `pwn${Math.random().toString(36).slice(2, 10)}`;
      await withTimeout(attacker.files.write('/tmp/attack.py', ATTACK), CALL_MS, 'write attack');
      const cmd = how === 'as root' ? `python3 /tmp/attack.py ${marker}` : `unshare -Urm python3 /tmp/attack.py ${marker}`;
      const out = (await run(attacker, cmd, { user: 'root' })).stdout;
      const results = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Record<string, string | string[]>;
      for (const [what, result] of Object.entries(results)) {
        if (what.startsWith('write') || what === 'overwrite bundle' || what === 'hard link' || what === 'symlink') {
          // Inside a user namespace the remount itself succeeds in gVisor; the write must not.
          if (what === 'write bind' && results['bind']?.[0] !== 'ok') continue; // no bind: a plain dir of the writable layer
          assert.notEqual(result, 'written', `${what} was written (${JSON.stringify(results)})`);
        }
      }
      // And on the host: the marker is nowhere the sandbox is served from.
      const hostPlaces = [
        '/var/lib/sandboxd-agent',
        join(stack.home, 'sandboxes'),
        repoRoot,
        ...readdirSync('/var/lib/sandboxd/templates').map((t) => join('/var/lib/sandboxd/templates', t, 'rootfs', 'etc')),
      ];
      // The attacker's own disk (its overlay upper layer and the overlay itself) is where its
      // writes belong; everything else, the bystander's disk included, must not hold the marker.
      const ownDisk = ['layer', 'root'].map((d) => join(stack.home, 'sandboxes', attacker.sandboxId, d) + '/');
      const foreign = (path: string): boolean => !ownDisk.some((prefix) => path.startsWith(prefix));
      for (const place of hostPlaces) assert.deepEqual(findMarker(place, marker).filter(foreign), [], `marker found under ${place}`);
      const hostsFiles = readdirSync(join(stack.home, 'sandboxes')).map((id) => join(stack.home, 'sandboxes', id, 'run', 'hosts'));
      for (const file of hostsFiles.filter(existsSync)) assert.doesNotMatch(readFileSync(file, 'utf8'), new RegExp(marker));
    });
  }

  test('the access token file and the agent are not writable, and another sandbox sees none of it', 60_000, async () => {
    await run(attacker, 'echo secret-of-attacker > /tmp/attacker-file && echo x > /root/attacker-root', { user: 'root' });
    const seen = await run(bystander, 'ls /tmp/attacker-file /root/attacker-root 2>&1; cat /opt/sandboxd/packages/agent/sudo/sudo | head -c 2', {
      user: 'root',
    }).catch((err: unknown) => err as { stdout: string });
    assert.match(seen.stdout, /No such file or directory[\s\S]*No such file or directory/);
    const perms = (await run(attacker, 'stat -c %a /run/sandboxd/agent.json', { user: 'root' })).stdout.trim();
    assert.equal(perms, '600');
    const asUser = await run(attacker, 'cat /run/sandboxd/agent.json 2>&1 || true', { user: 'user' });
    assert.match(asUser.stdout, /Permission denied/);
  });
});
