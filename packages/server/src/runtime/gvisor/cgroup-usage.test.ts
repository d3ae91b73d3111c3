import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseFlatKeyed, readCgroupCpuNanosSync, readCgroupUsage } from './cgroup-usage.js';

async function files(root: string, entries: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(entries)) {
    await mkdir(join(root, path, '..'), { recursive: true });
    await writeFile(join(root, path), text);
  }
}

// Excerpts of what the kernel writes for a gVisor sandbox's cgroup (v1 values seen on this host).
const V1_MEMORY_STAT = 'cache 349863936\nrss 17326080\nshmem 349007872\ninactive_file 237568\nactive_file 618496\ntotal_cache 349863936\ntotal_inactive_file 237568\ntotal_active_file 618496\n';

describe('cgroup usage', () => {
  it('reads a v1 layout: cpuacct, memory and cpu hierarchies', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cg-v1-'));
    const id = 'sandboxd/iabc';
    await files(root, {
      [`cpuacct/${id}/cpuacct.usage`]: '24619208962\n',
      [`memory/${id}/memory.usage_in_bytes`]: '374267904\n',
      [`memory/${id}/memory.limit_in_bytes`]: '2147483648\n',
      [`memory/${id}/memory.stat`]: V1_MEMORY_STAT,
      [`cpu/${id}/cpu.cfs_quota_us`]: '200000\n',
      [`cpu/${id}/cpu.cfs_period_us`]: '100000\n',
    });
    assert.deepEqual(await readCgroupUsage(id, root), {
      cpuNanos: 24619208962,
      cpuLimit: 2,
      memUsageBytes: 374267904,
      memFileBytes: 237568 + 618496,
      memLimitBytes: 2147483648,
    });
  });

  it('v1: no quota and the "unlimited" memory value are undefined limits', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cg-v1-'));
    const id = 'sandboxd/iabc';
    await files(root, {
      [`cpuacct/${id}/cpuacct.usage`]: '5\n',
      [`memory/${id}/memory.usage_in_bytes`]: '100\n',
      [`memory/${id}/memory.limit_in_bytes`]: '9223372036854771712\n',
      [`memory/${id}/memory.stat`]: 'active_file 1\ninactive_file 2\n',
      [`cpu/${id}/cpu.cfs_quota_us`]: '-1\n',
      [`cpu/${id}/cpu.cfs_period_us`]: '100000\n',
    });
    const usage = await readCgroupUsage(id, root);
    assert.equal(usage?.cpuLimit, undefined);
    assert.equal(usage?.memLimitBytes, undefined);
    assert.equal(usage?.memFileBytes, 3, 'the local counters when there are no total_ ones');
  });

  it('reads a v2 (unified) layout', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cg-v2-'));
    const id = 'sandboxd/iabc';
    await files(root, {
      'cgroup.controllers': 'cpu memory pids\n',
      [`${id}/cpu.stat`]: 'usage_usec 1500000\nuser_usec 1000000\nsystem_usec 500000\n',
      [`${id}/memory.current`]: '52428800\n',
      [`${id}/memory.max`]: '1073741824\n',
      [`${id}/memory.stat`]: 'anon 41943040\nfile 10485760\nactive_file 4194304\ninactive_file 6291456\n',
      [`${id}/cpu.max`]: '150000 100000\n',
    });
    assert.deepEqual(await readCgroupUsage(id, root), {
      cpuNanos: 1_500_000_000,
      cpuLimit: 1.5,
      memUsageBytes: 52428800,
      memFileBytes: 10485760,
      memLimitBytes: 1073741824,
    });
    await writeFile(join(root, id, 'cpu.max'), 'max 100000\n');
    await writeFile(join(root, id, 'memory.max'), 'max\n');
    const unlimited = await readCgroupUsage(id, root);
    assert.equal(unlimited?.cpuLimit, undefined);
    assert.equal(unlimited?.memLimitBytes, undefined);
  });

  it('is undefined for a cgroup that does not exist (the sandbox is gone)', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cg-v1-'));
    assert.equal(await readCgroupUsage('sandboxd/inothere', root), undefined);
  });

  it('parses flat keyed files, skipping what is not `key number`', () => {
    assert.deepEqual([...parseFlatKeyed('a 1\nb x\n\n c  22 \n')], [['a', 1], ['c', 22]]);
  });

  it('reads the CPU time alone, synchronously, in both layouts (undefined when the cgroup is gone)', async () => {
    const v1 = await mkdtemp(join(tmpdir(), 'cg-v1-'));
    await files(v1, { 'cpuacct/sandboxd/iabc/cpuacct.usage': '24619208962\n' });
    assert.equal(readCgroupCpuNanosSync('sandboxd/iabc', v1), 24619208962);
    assert.equal(readCgroupCpuNanosSync('sandboxd/inothere', v1), undefined);
    const v2 = await mkdtemp(join(tmpdir(), 'cg-v2-'));
    await files(v2, { 'cgroup.controllers': 'cpu\n', 'sandboxd/iabc/cpu.stat': 'usage_usec 1500000\nuser_usec 1000000\n' });
    assert.equal(readCgroupCpuNanosSync('sandboxd/iabc', v2), 1_500_000_000);
    assert.equal(readCgroupCpuNanosSync('sandboxd/inothere', v2), undefined);
  });
});
