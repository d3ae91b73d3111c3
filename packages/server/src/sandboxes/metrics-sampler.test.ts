import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { openDatabase } from '../store/database.js';
import { createSandboxRepo } from '../store/sandbox-repo.js';
import { FakeRuntime } from '../testing/fake-runtime.js';
import { silentLogger, staticTemplates, withTimeout } from '../testing/harness.js';
import { createMetricsSampler, type SampledSandboxes } from './metrics-sampler.js';
import { createSandboxService } from './sandbox-service.js';

const runtimes: FakeRuntime[] = [];
after(async () => {
  for (const r of runtimes) await r.close();
});

async function setup(count: number) {
  const runtime = new FakeRuntime();
  runtimes.push(runtime);
  const sandboxes = createSandboxService({
    runtime,
    templates: staticTemplates(),
    repo: createSandboxRepo(openDatabase(':memory:')),
    logger: silentLogger,
    createTimeoutMs: 5000,
  });
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const record = await sandboxes.create({ template: 'base', timeoutSec: 300, metadata: {}, envVars: {}, secure: false, allowInternetAccess: true, allowOut: [], denyOut: [] });
    ids.push(record.sandboxId);
  }
  let clock = Date.UTC(2030, 0, 1, 12, 0, 0);
  const now = () => clock;
  const advance = (ms: number) => (clock += ms);
  return { runtime, sandboxes, ids, now, advance };
}

describe('metrics sampler', () => {
  it('samples every running sandbox each round, in time order, with the runtime\'s values', async () => {
    const { runtime, sandboxes, ids, now, advance } = await setup(2);
    const sampler = createMetricsSampler({ sandboxes, now });
    for (let i = 0; i < 4; i++) {
      runtime.metricsValues = { ...runtime.metricsValues, memUsedBytes: 1000 + i, cpuUsedPct: 10 * i };
      await sampler.sampleAll();
      advance(5000);
    }
    for (const id of ids) {
      const got = sampler.query(id, {});
      assert.deepEqual(got.map((s) => s.memUsed), [1000, 1001, 1002, 1003]);
      assert.deepEqual(got.map((s) => s.cpuUsedPct), [0, 10, 20, 30]);
      assert.deepEqual(got.map((s) => s.at - got[0]!.at), [0, 5000, 10000, 15000]);
      assert.equal(got[0]!.diskTotal, runtime.metricsValues.diskTotalBytes);
    }
    assert.equal(sampler.usage().sandboxes, 2);
    assert.equal(sampler.usage().samples, 8);
  });

  it('keeps at most `capacity` samples per sandbox', async () => {
    const { sandboxes, ids, now, advance } = await setup(1);
    const sampler = createMetricsSampler({ sandboxes, now, capacity: 5 });
    for (let i = 0; i < 12; i++) {
      await sampler.sampleAll();
      advance(5000);
    }
    assert.equal(sampler.query(ids[0]!, {}).length, 5);
    assert.equal(sampler.usage().samples, 5);
  });

  it('drops the history of a sandbox that ended, and keeps none from a sample that raced its end', async () => {
    const { sandboxes, ids, now, advance } = await setup(2);
    let gate: Promise<void> | undefined;
    const slow: SampledSandboxes = {
      running: () => sandboxes.running(),
      find: (id) => sandboxes.find(id),
      onEnd: (listener) => sandboxes.onEnd(listener),
      metrics: async (id, op) => {
        const m = await sandboxes.metrics(id, op);
        await gate;
        return m;
      },
    };
    const sampler = createMetricsSampler({ sandboxes: slow, now });
    await sampler.sampleAll();
    advance(5000);
    await sandboxes.kill(ids[0]!);
    assert.deepEqual(sampler.query(ids[0]!, {}), [], 'gone with its sandbox');
    await sampler.sampleAll();
    assert.equal(sampler.query(ids[1]!, {}).length, 2);

    let open!: () => void;
    gate = new Promise((resolve) => (open = resolve));
    const round = sampler.sampleAll();
    await sandboxes.kill(ids[1]!);
    open();
    await round;
    assert.deepEqual(sampler.query(ids[1]!, {}), [], 'the in-flight sample of an ended sandbox is discarded');
    assert.deepEqual(sampler.usage(), { sandboxes: 0, samples: 0, bytes: 0 });
  });

  it('live(): a reading of now, not stored, except the first one of a sandbox; undefined for unknown ids', async () => {
    const { runtime, sandboxes, ids, now, advance } = await setup(1);
    const id = ids[0]!;
    const sampler = createMetricsSampler({ sandboxes, now });
    const first = await sampler.live(id);
    assert.ok(first);
    assert.deepEqual(sampler.samples(id), [first], 'a sandbox without samples keeps its first reading');
    runtime.metricsValues = { ...runtime.metricsValues, memUsedBytes: 2 ** 30 };
    advance(300);
    const second = await sampler.live(id);
    assert.equal(second?.memUsed, 2 ** 30);
    assert.equal(second?.at, now());
    assert.deepEqual(sampler.samples(id), [first], 'later readings are not stored');
    assert.deepEqual(sampler.query(id, {}, second).map((s) => s.memUsed), [2 ** 30], 'the reading joins its 5 s bucket (maximum)');
    assert.equal(await sampler.live('inotthere000000000000'), undefined);
  });

  it('derives CPU use between stored samples from the cumulative CPU time', async () => {
    const { sandboxes, ids, now, advance } = await setup(1);
    let cpuNanos = 0;
    const counted: SampledSandboxes = {
      running: () => sandboxes.running(),
      find: (id) => sandboxes.find(id),
      onEnd: (listener) => sandboxes.onEnd(listener),
      metrics: async (id, op) => ({ ...(await sandboxes.metrics(id, op)), cpuNanos }),
    };
    const sampler = createMetricsSampler({ sandboxes: counted, now });
    const id = ids[0]!;
    await sampler.sampleAll();
    assert.equal(sampler.samples(id)[0]!.cpuUsedPct, 12.5, 'the first one: what the runtime measured');
    advance(5000);
    cpuNanos += 5e9; // one of the two CPUs for 5 s
    await sampler.sampleAll();
    assert.equal(sampler.samples(id)[1]!.cpuUsedPct, 50);
    advance(1000);
    cpuNanos += 2e9; // both CPUs for the next second
    assert.equal((await sampler.live(id))?.cpuUsedPct, 100, 'a reading measures from the newest stored sample');
    advance(4000);
    await sampler.sampleAll();
    assert.equal(sampler.samples(id)[2]!.cpuUsedPct, 20, 'and does not move where the next sample measures from (2 s of CPU in 5 s on 2 CPUs)');
  });

  it('concurrent requests for one sandbox share one sample', async () => {
    const { sandboxes, ids, now } = await setup(1);
    let reads = 0;
    const counting: SampledSandboxes = {
      running: () => sandboxes.running(),
      find: (id) => sandboxes.find(id),
      onEnd: (listener) => sandboxes.onEnd(listener),
      metrics: async (id, op) => {
        reads++;
        await sleep(20);
        return sandboxes.metrics(id, op);
      },
    };
    const sampler = createMetricsSampler({ sandboxes: counting, now });
    await Promise.all([sampler.live(ids[0]!), sampler.live(ids[0]!), sampler.sampleAll()]);
    assert.equal(reads, 1);
  });

  it('reports failures other than a gone sandbox, and keeps sampling the others', async () => {
    const { sandboxes, ids, now } = await setup(2);
    const failures: string[] = [];
    const flaky: SampledSandboxes = {
      running: () => sandboxes.running(),
      find: (id) => sandboxes.find(id),
      onEnd: (listener) => sandboxes.onEnd(listener),
      metrics: async (id, op) => {
        if (id === ids[0]) throw new SandboxdError(ErrorCode.RUNTIME_FAILURE, 'cgroup unreadable');
        return sandboxes.metrics(id, op);
      },
    };
    const sampler = createMetricsSampler({ sandboxes: flaky, now, onError: (id) => failures.push(id) });
    await sampler.sampleAll();
    assert.deepEqual(failures, [ids[0]]);
    assert.equal(sampler.query(ids[0]!, {}).length, 0);
    assert.equal(sampler.query(ids[1]!, {}).length, 1);
  });

  it('one timer samples every sandbox once per interval until stopped', async () => {
    const { sandboxes, ids } = await setup(3);
    const intervalMs = 40;
    const sampler = createMetricsSampler({ sandboxes, intervalMs });
    const started = Date.now();
    sampler.start();
    sampler.start();
    await withTimeout(
      (async () => {
        while (ids.some((id) => sampler.samples(id).length < 3)) await sleep(10);
      })(),
      10_000,
      'three rounds',
    );
    sampler.stop();
    const elapsed = Date.now() - started;
    const counts = ids.map((id) => sampler.samples(id).length);
    // Not more often than the interval (a second start() arms no second timer).
    for (const n of counts) assert.ok(n <= Math.floor(elapsed / intervalMs) + 1, `${n} samples in ${elapsed} ms`);
    await sleep(150);
    assert.deepEqual(ids.map((id) => sampler.samples(id).length), counts, 'no sample after stop()');
  });
});
