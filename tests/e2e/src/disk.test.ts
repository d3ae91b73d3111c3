import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe } from 'node:test';
import { createSandbox, e2eTest, rawFetch } from './helpers.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

const MiB = 1024 * 1024;

/** `df -B1 <path>` inside the sandbox: size and available bytes. */
async function df(sandbox: Awaited<ReturnType<typeof createSandbox>>, path: string): Promise<{ size: number; avail: number }> {
  const r = await sandbox.commands.run(`df -B1 --output=size,avail ${path} | tail -1`);
  const [size, avail] = r.stdout.trim().split(/\s+/).map(Number);
  assert.ok(Number.isFinite(size) && Number.isFinite(avail), `df output: ${r.stdout}`);
  return { size: size!, avail: avail! };
}

describe('disk: the writable layer is a real disk of the advertised size, not memory', () => {
  test('df shows the disk size; writing more than the memory limit works; a full disk is ENOSPC and the sandbox lives on', 300_000, async () => {
    const sandbox = await createSandbox(stack);
    const info = await rawFetch(`${stack.apiUrl}/sandboxes/${sandbox.sandboxId}`, { headers: { 'X-API-KEY': stack.apiKey } });
    const metrics = info.json as { diskSizeMB: number; memoryMB: number };
    const diskMB = metrics.diskSizeMB;
    assert.ok(diskMB > metrics.memoryMB, `the test needs a disk (${diskMB} MiB) larger than the memory (${metrics.memoryMB} MiB)`);

    const root = await df(sandbox, '/');
    // ext4's own metadata takes a little of the image.
    assert.ok(root.size > diskMB * MiB * 0.95 && root.size <= diskMB * MiB, `df / size ${root.size} for a ${diskMB} MiB disk`);
    const tmp = await df(sandbox, '/tmp');
    assert.equal(tmp.size, root.size, '/tmp is on the same disk, not a memory tmpfs');

    // More than the sandbox's whole memory, to the root and to /tmp.
    const bigMB = metrics.memoryMB + 256;
    const write = await sandbox.commands.run(`dd if=/dev/zero of=/home/user/big bs=1M count=${bigMB} conv=fsync status=none && stat -c %s /home/user/big`, {
      timeoutMs: 240_000,
    });
    assert.equal(Number(write.stdout.trim()), bigMB * MiB);
    assert.equal((await sandbox.commands.run('echo still-alive')).stdout.trim(), 'still-alive');

    // Fill the rest: the writer gets ENOSPC, the sandbox keeps working.
    const fill = await sandbox.commands.run('dd if=/dev/zero of=/tmp/fill bs=1M status=none; echo "dd exit $?"', { timeoutMs: 240_000 });
    assert.match(fill.stderr, /No space left on device/);
    assert.match(fill.stdout, /dd exit 1/);
    assert.ok((await df(sandbox, '/')).avail < 16 * MiB, 'the disk is full');
    assert.equal((await sandbox.commands.run('echo alive-when-full')).stdout.trim(), 'alive-when-full');

    // Space comes back when files are deleted.
    await sandbox.commands.run('rm -f /tmp/fill /home/user/big');
    assert.ok((await df(sandbox, '/')).avail > root.avail - 64 * MiB, 'space is freed');
    await sandbox.files.write('/home/user/after.txt', 'ok');
    assert.equal(await sandbox.files.read('/home/user/after.txt'), 'ok');
    await sandbox.kill();
  });

  test('a console flood from inside stays capped on the host, and the logs API answers from the newest lines', 180_000, async () => {
    const sandbox = await createSandbox(stack);
    // 30 MiB written straight to PID 1's stdout as root: the host log must not follow.
    await sandbox.commands.run(
      `python3 -c "import os\nfd = os.open('/proc/1/fd/1', os.O_WRONLY)\nline = b'x' * 99 + b'\\n'\nfor i in range(300_000): os.write(fd, line)\nos.write(fd, b'flood-finished\\n')"`,
      { user: 'root', timeoutMs: 150_000 },
    );
    const logDir = join(stack.home, 'sandboxes', sandbox.sandboxId, 'log');
    const onDisk = readdirSync(logDir).reduce((sum, name) => sum + statSync(join(logDir, name)).size, 0);
    assert.ok(onDisk < 6 * MiB, `the host keeps ${onDisk} bytes of console log`);
    const res = await rawFetch(`${stack.apiUrl}/v2/sandboxes/${sandbox.sandboxId}/logs?direction=backward&limit=5`, { headers: { 'X-API-KEY': stack.apiKey } });
    assert.equal(res.status, 200);
    const messages = (res.json as { logs: Array<{ message: string }> }).logs.map((l) => l.message);
    assert.ok(messages.includes('flood-finished'), `newest log lines: ${JSON.stringify(messages)}`);
    assert.equal((await sandbox.commands.run('echo alive')).stdout.trim(), 'alive');
    await sandbox.kill();
  });
});
