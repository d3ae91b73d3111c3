// The envd Connect services in-process (createRouterTransport) over the real filesystem and real
// processes: integration lane.
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code, ConnectError } from '@connectrpc/connect';
import type { ProcessEvent } from '@sandboxd/protocol';
import { inProcessEnvd, type InProcessEnvd } from './envd.test-support.js';

async function rpcError(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  assert.fail('expected the call to fail');
}

describe('envd Connect services (in-process, createRouterTransport)', () => {
  let envd: InProcessEnvd;
  before(async () => {
    envd = await inProcessEnvd();
  });
  after(() => envd.close());

  it('stats, makes, lists and moves files, with envd\'s codes for missing and existing paths', async () => {
    const file = join(envd.dir, 'a.txt');
    await writeFile(file, 'hello');
    const { entry } = await envd.fs.stat({ path: file });
    assert.equal(entry?.size, 5n);
    assert.equal(entry?.name, 'a.txt');
    const missing = await rpcError(envd.fs.stat({ path: join(envd.dir, 'none') }));
    assert.equal(missing.code, Code.NotFound);
    assert.match(missing.rawMessage, /^file not found: /);
    const dir = join(envd.dir, 'sub', 'deep');
    await envd.fs.makeDir({ path: dir });
    assert.equal((await rpcError(envd.fs.makeDir({ path: dir }))).code, Code.AlreadyExists);
    const onFile = await rpcError(envd.fs.makeDir({ path: file }));
    assert.equal(onFile.code, Code.InvalidArgument);
    assert.equal(onFile.rawMessage, `path already exists but it is not a directory: ${file}`);
    const moved = await envd.fs.move({ source: file, destination: join(dir, 'b.txt') });
    assert.equal(moved.entry?.path, join(dir, 'b.txt'));
    const listed = await envd.fs.listDir({ path: join(envd.dir, 'sub'), depth: 2 });
    assert.deepEqual(listed.entries.map((e) => e.name).sort(), ['b.txt', 'deep']);
    assert.equal((await rpcError(envd.fs.stat({ path: '/tmp/a\0b' }))).code, Code.InvalidArgument);
    assert.equal((await rpcError(envd.fs.removeWatcher({ watcherId: 'nope' }))).code, Code.NotFound);
  });

  it('runs a process: start, output, end; bad input gets envd\'s codes', async () => {
    await mkdir(join(envd.dir, 'cwd'));
    let stdout = '';
    let exit: number | undefined;
    let pid = 0;
    const stream = envd.process.start({ process: { cmd: '/bin/sh', args: ['-c', 'echo "$SANDBOX_GLOBAL $X"; pwd'], envs: { X: 'y' }, cwd: join(envd.dir, 'cwd') } });
    for await (const { event } of stream as AsyncIterable<{ event?: ProcessEvent }>) {
      const e = event?.event;
      if (e?.case === 'start') pid = e.value.pid;
      if (e?.case === 'data' && e.value.output.case === 'stdout') stdout += Buffer.from(e.value.output.value).toString();
      if (e?.case === 'end') exit = e.value.exitCode;
    }
    assert.ok(pid > 0);
    assert.equal(stdout, `from-sandbox y\n${join(envd.dir, 'cwd')}\n`);
    assert.equal(exit, 0);
    const notFound = await rpcError(envd.process.start({ process: { cmd: 'no-such-binary-xyz', args: [], envs: {} } })[Symbol.asyncIterator]().next());
    assert.equal(notFound.code, Code.InvalidArgument);
    assert.match(notFound.rawMessage, /executable file not found in \$PATH/);
    const noSelector = await rpcError(envd.process.sendSignal({}));
    assert.equal(noSelector.code, Code.Unimplemented);
    assert.equal(noSelector.rawMessage, 'invalid input type: process selector is empty');
    const gone = await rpcError(envd.process.sendInput({ process: { selector: { case: 'pid', value: 999_999 } }, input: { input: { case: 'stdin', value: new Uint8Array([1]) } } }));
    assert.equal(gone.code, Code.NotFound);
  });
});
