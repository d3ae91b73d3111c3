import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { largestProcess, parseMeminfo, startMemoryGuard } from './memory-guard.js';

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
});
