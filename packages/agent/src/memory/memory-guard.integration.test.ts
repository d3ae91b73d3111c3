import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { largestProcess, nextCheckDelay, parseMeminfo, startMemoryGuard } from './memory-guard.js';

const stat = (pid: number, command: string, rssPages: number): string =>
  `${pid} (${command}) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 100 1000000 ${rssPages} 18446744073709551615`;

describe('memory guard', () => {
  it('reads total and available memory from meminfo', () => {
    assert.deepEqual(parseMeminfo('MemTotal:        2097152 kB\nMemFree:  100 kB\nMemAvailable:     930188 kB\n'), {
      totalBytes: 2097152 * 1024,
      availableBytes: 930188 * 1024,
    });
    assert.equal(parseMeminfo('nothing'), undefined);
  });

  it('picks the process with the largest resident set, skipping protected ones', () => {
    const proc = mkdtempSync(join(tmpdir(), 'proc-'));
    try {
      for (const [pid, command, pages] of [[1, 'tini', 10], [7, 'node', 900_000], [42, 'python3 (x)', 500_000], [43, 'bash', 100]] as const) {
        mkdirSync(join(proc, String(pid)));
        writeFileSync(join(proc, String(pid), 'stat'), stat(pid, command, pages));
      }
      assert.deepEqual(largestProcess(proc, new Set([1, 7])), { pid: 42, command: 'python3 (x)', rssBytes: 500_000 * 4096 });
    } finally {
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it('kills the largest process when available memory runs low, and remembers the kill', async () => {
    const proc = mkdtempSync(join(tmpdir(), 'proc-'));
    const victim = spawn('sleep', ['30']);
    try {
      writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1000000 kB\nMemAvailable: 50000 kB\n');
      mkdirSync(join(proc, String(victim.pid)));
      writeFileSync(join(proc, String(victim.pid), 'stat'), stat(victim.pid!, 'sleep', 1000));
      const killed = new Promise<number | null>((resolve) => victim.once('exit', (_code, signal) => resolve(signal === 'SIGKILL' ? victim.pid! : null)));
      const kills: number[] = [];
      const guard = startMemoryGuard({ procDir: proc, intervalMs: 10, onKill: (k) => kills.push(k.pid) });
      assert.equal(await killed, victim.pid);
      assert.deepEqual(kills, [victim.pid]);
      assert.equal(guard.killOf(victim.pid!)?.command, 'sleep');
      assert.equal(guard.killOf(12345), undefined);
      guard.close();
    } finally {
      victim.kill('SIGKILL');
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it('leaves everything alone while enough memory is available', async () => {
    const proc = mkdtempSync(join(tmpdir(), 'proc-'));
    const bystander = spawn('sleep', ['30']);
    try {
      writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1000000 kB\nMemAvailable: 500000 kB\n');
      mkdirSync(join(proc, String(bystander.pid)));
      writeFileSync(join(proc, String(bystander.pid), 'stat'), stat(bystander.pid!, 'sleep', 1000));
      const guard = startMemoryGuard({ procDir: proc, intervalMs: 10 });
      await new Promise((r) => setTimeout(r, 100));
      guard.close();
      assert.equal(bystander.exitCode, null);
      assert.equal(bystander.signalCode, null);
    } finally {
      bystander.kill('SIGKILL');
      rmSync(proc, { recursive: true, force: true });
    }
  });

  it('checks rarely with memory to spare and often near the threshold', () => {
    const GiB = 1024 ** 3;
    const rate = 2 * GiB;
    // 2 GiB sandbox, idle: ~1.76 GiB of headroom above the 12 % threshold, capped at the longest pause.
    assert.equal(nextCheckDelay({ totalBytes: 2 * GiB, availableBytes: 2 * GiB }, 0.12, rate, 100, 1_000), 880);
    assert.equal(nextCheckDelay({ totalBytes: 8 * GiB, availableBytes: 8 * GiB }, 0.12, rate, 100, 1_000), 1_000);
    // Close to the threshold: the shortest pause.
    assert.equal(nextCheckDelay({ totalBytes: 2 * GiB, availableBytes: 0.13 * 2 * GiB }, 0.12, rate, 100, 1_000), 100);
    assert.equal(nextCheckDelay({ totalBytes: 2 * GiB, availableBytes: 0 }, 0.12, rate, 100, 1_000), 100);
    assert.equal(nextCheckDelay(undefined, 0.12, rate, 100, 1_000), 100);
  });

  it('still catches memory that runs low after a long quiet spell', async () => {
    const proc = mkdtempSync(join(tmpdir(), 'proc-'));
    const victim = spawn('sleep', ['30']);
    try {
      writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1000000 kB\nMemAvailable: 990000 kB\n');
      mkdirSync(join(proc, String(victim.pid)));
      writeFileSync(join(proc, String(victim.pid), 'stat'), stat(victim.pid!, 'sleep', 1000));
      const killed = new Promise<number>((resolve) => victim.once('exit', () => resolve(Date.now())));
      const guard = startMemoryGuard({ procDir: proc, intervalMs: 10, maxIntervalMs: 200 });
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(victim.exitCode, null, 'nothing killed while memory is plentiful');
      const dropped = Date.now();
      writeFileSync(join(proc, 'meminfo'), 'MemTotal: 1000000 kB\nMemAvailable: 10000 kB\n');
      const at = await killed;
      guard.close();
      assert.ok(at - dropped < 1_000, `killed ${at - dropped} ms after memory ran low`);
    } finally {
      victim.kill('SIGKILL');
      rmSync(proc, { recursive: true, force: true });
    }
  });
});
