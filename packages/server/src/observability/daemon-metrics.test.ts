import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import type { EndReason } from '../sandboxes/sandbox-record.js';
import { parsePromText, sampleValue } from '../testing/prom-text.js';
import { createDaemonMetrics } from './daemon-metrics.js';

function setup() {
  const running: Array<{ sandboxId: string; templateAlias: string; limits: { memoryMB: number } }> = [];
  const listeners = new Set<(r: { sandboxId: string }, reason: EndReason) => void>();
  const mem = new Map<string, number>();
  const cpu = new Map<string, number>();
  const metrics = createDaemonMetrics({
    processMetrics: false,
    sandboxes: {
      running: () => running,
      onEnd: (l) => (listeners.add(l), () => listeners.delete(l)),
    },
    samples: { latest: (id) => (mem.has(id) ? { memUsed: mem.get(id)! } : undefined), cpuNanos: (id) => cpu.get(id) },
  });
  const end = (id: string, reason: EndReason) => {
    running.splice(running.findIndex((r) => r.sandboxId === id), 1);
    for (const l of listeners) l({ sandboxId: id }, reason);
  };
  const scrape = async () => parsePromText((await metrics.exposition()).body).samples;
  return { metrics, running, mem, cpu, end, scrape, listeners };
}

describe('daemon metrics', () => {
  it('counts a create as creating while it runs, then by outcome with its duration', async () => {
    const { metrics, scrape } = setup();
    let finish!: () => void;
    const pending = metrics.observeCreate('base', () => new Promise<void>((resolve) => (finish = resolve)));
    assert.equal(sampleValue(await scrape(), 'sandboxd_sandboxes', { state: 'creating', template: 'base' }), 1);
    finish();
    await pending;
    await assert.rejects(metrics.observeCreate('base', async () => { throw new SandboxdError(ErrorCode.TIMEOUT, 'slow'); }), /slow/);
    const s = await scrape();
    assert.equal(sampleValue(s, 'sandboxd_sandboxes', { state: 'creating', template: 'base' }), undefined);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_creates_total', { template: 'base', outcome: 'ok' }), 1);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_creates_total', { template: 'base', outcome: ErrorCode.TIMEOUT }), 1);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_create_duration_seconds_count', { template: 'base', outcome: 'ok' }), 1);
  });

  it('has per-sandbox CPU and memory series only while the sandbox runs, and counts its end by reason', async () => {
    const { running, mem, cpu, end, scrape, metrics, listeners } = setup();
    running.push({ sandboxId: 'a', templateAlias: 'base', limits: { memoryMB: 512 } }, { sandboxId: 'b', templateAlias: 'code-interpreter-v1', limits: { memoryMB: 1024 } });
    assert.equal(sampleValue(await scrape(), 'sandboxd_sandboxes_memory_limit_bytes', {}), 1536 * 2 ** 20);
    mem.set('a', 1000).set('b', 2000);
    cpu.set('a', 2_500_000_000);
    let s = await scrape();
    assert.equal(sampleValue(s, 'sandboxd_sandbox_memory_bytes', { sandbox_id: 'a' }), 1000);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_memory_bytes', { sandbox_id: 'b' }), 2000);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_cpu_seconds', { sandbox_id: 'a' }), 2.5);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_cpu_seconds', { sandbox_id: 'b' }), undefined, 'no CPU time counted: no series');
    assert.equal(sampleValue(s, 'sandboxd_sandboxes', { state: 'running', template: 'code-interpreter-v1' }), 1);
    end('a', 'expired');
    s = await scrape();
    assert.equal(sampleValue(s, 'sandboxd_sandbox_memory_bytes', { sandbox_id: 'a' }), undefined);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_cpu_seconds', { sandbox_id: 'a' }), undefined);
    assert.equal(sampleValue(s, 'sandboxd_sandboxes', { state: 'running', template: 'base' }), undefined);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_ends_total', { reason: 'expired' }), 1);
    metrics.close();
    assert.equal(listeners.size, 0);
  });

  it('labels requests by status class and folds unknown methods; proxy traffic by port class and direction', async () => {
    const { metrics, scrape } = setup();
    metrics.observeRequest({ route: '/v2/sandboxes', method: 'GET', status: 200 }, 0.002);
    metrics.observeRequest({ route: '/v2/sandboxes', method: 'GET', status: 204 }, 0.002);
    metrics.observeRequest({ route: '(unmatched)', method: 'PROPFIND', status: 404 }, 0.001);
    metrics.observeProxy('envd', 10, 300);
    metrics.observeProxy('envd', 5, 0);
    const s = await scrape();
    assert.equal(sampleValue(s, 'sandboxd_http_requests_total', { route: '/v2/sandboxes', method: 'GET', status_class: '2xx' }), 2);
    assert.equal(sampleValue(s, 'sandboxd_http_requests_total', { route: '(unmatched)', method: 'OTHER', status_class: '4xx' }), 1);
    assert.equal(sampleValue(s, 'sandboxd_http_request_duration_seconds_count', { route: '/v2/sandboxes', method: 'GET' }), 2);
    assert.equal(sampleValue(s, 'sandboxd_proxy_requests_total', { port_class: 'envd' }), 2);
    assert.equal(sampleValue(s, 'sandboxd_proxy_bytes_total', { port_class: 'envd', direction: 'in' }), 15);
    assert.equal(sampleValue(s, 'sandboxd_proxy_bytes_total', { port_class: 'envd', direction: 'out' }), 300);
  });
});

describe('activity metrics', () => {
  it('counts executions by language (a fixed set) and outcome, commands by outcome, operations by outcome', async () => {
    const { metrics, scrape } = setup();
    metrics.observeExecution('python', 'ok', 0.2);
    metrics.observeExecution('python', 'error', 0.1);
    metrics.observeExecution('cobol', 'interrupted', 3);
    metrics.observeCommand('ok', 0.05);
    await metrics.observeOperation('kill', async () => undefined);
    await assert.rejects(metrics.observeOperation('pause', async () => { throw new SandboxdError(ErrorCode.SANDBOX_ALREADY_PAUSED, 'paused'); }));
    await metrics.observeOperation('resume', async () => ({ resumed: false }), (r) => r.resumed);
    const s = await scrape();
    assert.equal(sampleValue(s, 'sandboxd_executions_total', { language: 'python', outcome: 'ok' }), 1);
    assert.equal(sampleValue(s, 'sandboxd_executions_total', { language: 'python', outcome: 'error' }), 1);
    assert.equal(sampleValue(s, 'sandboxd_executions_total', { language: 'other', outcome: 'interrupted' }), 1);
    assert.equal(sampleValue(s, 'sandboxd_execution_duration_seconds_sum', { language: 'other', outcome: 'interrupted' }), 3);
    assert.equal(sampleValue(s, 'sandboxd_commands_total', { outcome: 'ok' }), 1);
    assert.equal(sampleValue(s, 'sandboxd_command_duration_seconds_count', { outcome: 'ok' }), 1);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_operations_total', { operation: 'kill', outcome: 'ok' }), 1);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_operations_total', { operation: 'pause', outcome: ErrorCode.SANDBOX_ALREADY_PAUSED }), 1);
    assert.equal(sampleValue(s, 'sandboxd_sandbox_operations_total', { operation: 'resume', outcome: 'ok' }), undefined, 'a connect to a running sandbox is no resume');
    assert.ok((sampleValue(s, 'sandboxd_host_memory_bytes', { kind: 'total' }) ?? 0) > 0);
  });
});
