import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AGENT_LOG_FILE_BYTES, AGENT_LOG_FILES, openAgentLog, readAgentLog, readTail } from './agent-log.js';

// Real multilog (daemontools), fed by a real child process as the sandbox's console is.
let base: string;

before(async () => {
  base = await mkdtemp(join(tmpdir(), 'sandboxd-agent-log-'));
});

after(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Runs `script` (node) with its stdout and stderr on `fd`, as runsc create hands the console on. */
function writer(fd: number, script: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', fd, fd] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

test('lines written to the console reach the log, in order, after the writer ends', async () => {
  const dir = join(base, 'small');
  const log = await openAgentLog(dir);
  await writer(log.fd, 'for (let i = 0; i < 100; i++) console.log(JSON.stringify({ level: 30, msg: "line " + i })); process.stdout.write("no newline at the end")');
  await log.close();
  await log.drained(5_000);
  const lines = await readAgentLog(dir);
  assert.equal(lines.length, 101);
  assert.equal(JSON.parse(lines[0]!).msg, 'line 0');
  assert.equal(JSON.parse(lines[99]!).msg, 'line 99');
  assert.equal(lines[100], 'no newline at the end');
});

test('a flood is capped on disk by rotation, and reading it is bounded too', async () => {
  const dir = join(base, 'flood');
  const log = await openAgentLog(dir);
  // 40 MiB of numbered lines: ten times what is kept.
  await writer(
    log.fd,
    'const pad = "x".repeat(100); let out = ""; for (let i = 0; i < 400_000; i++) { out += i + " " + pad + "\\n"; if (out.length > 65536) { require("fs").writeSync(1, out); out = ""; } } require("fs").writeSync(1, out + "the end\\n")',
  );
  await log.close();
  await log.drained(10_000);
  const onDisk = await dirBytes(dir);
  assert.ok(onDisk <= AGENT_LOG_FILE_BYTES * (AGENT_LOG_FILES + 1), `log takes ${onDisk} bytes on disk`);
  const lines = await readAgentLog(dir);
  assert.equal(lines.at(-1), 'the end', 'the newest lines are kept');
  const numbers = lines.slice(0, -1).map((l) => Number(l.split(' ')[0]));
  for (let i = 1; i < numbers.length; i++) assert.equal(numbers[i], numbers[i - 1]! + 1, 'contiguous, in order');
  const bounded = await readAgentLog(dir, 10_000);
  assert.ok(bounded.join('\n').length <= 10_000);
  assert.equal(bounded.at(-1), 'the end');
});

test('readTail returns whole lines from the end and nothing for a missing file', async () => {
  assert.equal(await readTail(join(base, 'missing'), 100), '');
  const dir = join(base, 'small');
  const tail = await readTail(join(dir, 'current'), 40);
  assert.ok(tail.length <= 40);
  assert.match(tail, /no newline at the end\n?$/);
  assert.doesNotMatch(tail.split('\n')[0]!, /^[^{]*"\}$/, 'starts at a line boundary');
});
