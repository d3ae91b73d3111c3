import { withTimeout } from '@sandboxd/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { loadConfig } from '../config.js';
import { createDaemon } from '../daemon.js';
import type { Daemon } from '../daemon.js';
import type { TemplateInfo, TemplateStore } from '../templates/template-store.js';
import { FakeRuntime } from './fake-runtime.js';

export const TEST_API_KEY = 'e2b_0123456789abcdef0123456789abcdef01234567';

export const silentLogger: Logger = pino({ level: 'silent' });

/** A TemplateStore over a fixed list (tests only). */
export function staticTemplates(templates: TemplateInfo[] = defaultTemplates()): TemplateStore {
  return {
    resolve: (name) => {
      const bare = name.replace(/:[^/]*$/, '').replace(/^[^/]*\//, '');
      return templates.find((t) => t.templateId === name || t.aliases.includes(name) || t.aliases.includes(bare));
    },
    list: () => templates,
    ensureBuilt: async (name) => {
      const found = templates.find((t) => t.aliases.includes(name));
      if (found === undefined) throw new Error(`no template ${name}`);
      return found;
    },
  };
}

export function defaultTemplates(): TemplateInfo[] {
  const limits = { memoryMB: 512, cpuCount: 2, pidsLimit: 256, diskSizeMB: 1024 };
  return [
    { templateId: 'tbase0000000000000001', aliases: ['base'], rootfsPath: '/nonexistent/base', limits, createdAt: '2030-01-01T00:00:00.000Z' },
    {
      templateId: 'tci00000000000000001',
      aliases: ['code-interpreter-v1'],
      rootfsPath: '/nonexistent/ci',
      limits: { ...limits, memoryMB: 1024 },
      createdAt: '2030-01-01T00:00:00.000Z',
    },
  ];
}

export function tempHome(): { home: string; remove: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'sandboxd-test-'));
  return { home, remove: () => rmSync(home, { recursive: true, force: true }) };
}

export function testConfig(home: string, overrides: Partial<Config> = {}): Config {
  return { ...loadConfig({ SANDBOXD_HOME: home, SANDBOXD_PORT: '0', SANDBOXD_API_KEY: TEST_API_KEY, SANDBOXD_POOL_SIZE: 'off' }), ...overrides };
}

export { withTimeout };

export interface RunningStack {
  daemon: Daemon;
  url: string;
  runtime: FakeRuntime;
  home: string;
  /** Closes the daemon only (sandboxes and home stay, for restart tests). */
  stopDaemon(): Promise<void>;
  /** Closes the daemon, the fake runtime, and removes home. */
  close(): Promise<void>;
}

/** A listening daemon over a FakeRuntime and a temporary home. */
export async function startStack(
  options: { runtime?: FakeRuntime; home?: string; config?: Partial<Config> } = {},
): Promise<RunningStack> {
  const runtime = options.runtime ?? new FakeRuntime();
  const temp = options.home === undefined ? tempHome() : undefined;
  const home = options.home ?? temp!.home;
  const daemon = createDaemon({ config: testConfig(home, options.config), runtime, templates: staticTemplates(), logger: silentLogger });
  const { url } = await withTimeout(daemon.listen(), 10_000, 'daemon.listen');
  return {
    daemon,
    url,
    runtime,
    home,
    stopDaemon: () => daemon.close({ timeoutMs: 500 }),
    async close() {
      await daemon.close({ timeoutMs: 500 });
      await runtime.close();
      temp?.remove();
    },
  };
}
