import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, statfs, writeFile } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuPercent, createMetricsReader } from './metrics.js';

const MEMINFO = 'MemTotal:        2097152 kB\nMemFree:         1964704 kB\nMemAvailable:    1900000 kB\nCached:           105148 kB\nSReclaimable:      1000 kB\n';
// gVisor's /proc/stat: every CPU time is zero.
const GVISOR_STAT = 'cpu  0 0 0 0 0 0 0 0 0 0\ncpu0 0 0 0 0 0 0 0 0 0 0\n';

async function fixture(): Promise<{ proc: string; cgroup: string }> {
  const root = await mkdtemp(join(tmpdir(), 'envd-metrics-'));
  const proc = join(root, 'proc');
  const cgroup = join(root, 'cgroup');
  await mkdir(proc);
  await mkdir(cgroup);
  await writeFile(join(proc, 'meminfo'), MEMINFO);
  await writeFile(join(proc, 'stat'), GVISOR_STAT);
  return { proc, cgroup };
}

describe('envd /metrics reader', () => {
  it('measures CPU from the sandbox cgroup when /proc/stat says nothing (gVisor)', async () => {
    const { proc, cgroup } = await fixture();
    await mkdir(join(cgroup, 'cpuacct'));
    const usage = join(cgroup, 'cpuacct', 'cpuacct.usage');
    await writeFile(usage, '1000000000\n');
    const read = createMetricsReader({ procDir: proc, cgroupDir: cgroup, diskPath: proc });
    await read();
    const before = Date.now();
    // One full CPU for the next 200 ms.
    await writeFile(usage, String(1_000_000_000 + 200_000_000));
    await new Promise((r) => setTimeout(r, 200));
    const m = await read();
    const elapsed = Date.now() - before;
    const expected = (200 / elapsed / cpus().length) * 100;
    assert.ok(Math.abs(m.cpu_used_pct - expected) < expected * 0.3, `cpu_used_pct ${m.cpu_used_pct}, expected about ${expected}`);
    assert.ok(m.cpu_used_pct > 0);
  });

  it('reads cgroup v2 cpu.stat, then falls back to /proc/stat', async () => {
    const { proc, cgroup } = await fixture();
    await writeFile(join(cgroup, 'cpu.stat'), 'usage_usec 100\nuser_usec 50\n');
    const v2 = createMetricsReader({ procDir: proc, cgroupDir: cgroup, diskPath: proc });
    await v2();
    await writeFile(join(cgroup, 'cpu.stat'), `usage_usec ${100 + 150_000 * cpus().length}\nuser_usec 50\n`);
    assert.ok((await v2()).cpu_used_pct > 10);

    const bare = await fixture();
    const stat = createMetricsReader({ procDir: bare.proc, cgroupDir: bare.cgroup, diskPath: bare.proc });
    await writeFile(join(bare.proc, 'stat'), 'cpu  100 0 100 800 0 0 0 0 0 0\n');
    await stat();
    await writeFile(join(bare.proc, 'stat'), 'cpu  175 0 100 825 0 0 0 0 0 0\n');
    assert.equal((await stat()).cpu_used_pct, 75);
  });

  it('reports memory from meminfo and the disk of its path as statfs sees it', async () => {
    const { proc, cgroup } = await fixture();
    const m = await createMetricsReader({ procDir: proc, cgroupDir: cgroup, diskPath: proc })();
    assert.equal(m.mem_total, 2097152 * 1024);
    assert.equal(m.mem_used, (2097152 - 1900000) * 1024);
    assert.equal(m.mem_cache, (105148 + 1000) * 1024);
    assert.equal(m.mem_total_mib, 2048);
    const fs = await statfs(proc);
    assert.equal(m.disk_total, fs.blocks * fs.bsize);
    assert.ok(m.disk_used > 0 && m.disk_used <= m.disk_total);
    assert.equal(m.cpu_used_pct, 0, 'no counter moved');
  });

  it('cpuPercent clamps to 0..100', () => {
    assert.equal(cpuPercent({ at: 0, busy: 0, total: undefined }, { at: 1000, busy: 5e9, total: undefined }, 2), 100);
    assert.equal(cpuPercent({ at: 0, busy: 10, total: undefined }, { at: 1000, busy: 5, total: undefined }, 2), 0);
    assert.equal(cpuPercent({ at: 0, busy: 0, total: 0 }, { at: 1000, busy: 0, total: 0 }, 2), 0);
  });
});
