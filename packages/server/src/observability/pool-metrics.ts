import { Counter, Gauge } from 'prom-client';
import type { Registry } from 'prom-client';
import type { PoolDepth } from '../pool/warm-pool.js';

/**
 * The warm pool's series, read at scrape time: `sandboxd_pool_sandboxes{template,state}` (ready,
 * booting), `sandboxd_pool_target{template}` and `sandboxd_pool_claims_total{template,outcome}`
 * (hit: served from the pool, miss: the pool was empty and the create went cold).
 */
export function registerPoolMetrics(registry: Registry, pool: { depth(): PoolDepth[] }): void {
  new Gauge({
    name: 'sandboxd_pool_sandboxes',
    help: 'Warm pool sandboxes by template and state (ready, booting); not counted in sandboxd_sandboxes',
    labelNames: ['template', 'state'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of pool.depth()) {
        this.set({ template: d.template, state: 'ready' }, d.ready);
        this.set({ template: d.template, state: 'booting' }, d.booting);
      }
    },
  });
  new Gauge({
    name: 'sandboxd_pool_target',
    help: 'Warm pool size wanted per template (SANDBOXD_POOL_SIZE)',
    labelNames: ['template'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of pool.depth()) this.set({ template: d.template }, d.target);
    },
  });
  new Counter({
    name: 'sandboxd_pool_claims_total',
    help: 'Creates of a pooled template by outcome (hit: claimed a warm sandbox, miss: pool empty, started cold)',
    labelNames: ['template', 'outcome'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const d of pool.depth()) {
        this.inc({ template: d.template, outcome: 'hit' }, d.claims);
        this.inc({ template: d.template, outcome: 'miss' }, d.misses);
      }
    },
  });
}
