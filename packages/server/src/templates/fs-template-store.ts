import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { APT_CACHE_DIR, DEFAULT_APT_CACHE_MAX_MB, pruneAptCache } from './apt-cache-prune.js';
import { buildRootfs } from './mmdebstrap-builder.js';
import type { TemplateInfo, TemplateStore } from './template-store.js';
import { BUILT_IN_TEMPLATES, templateHash, type TemplateSpec } from './template-spec.js';


/**
 * Templates on disk: `<dir>/<hash>/rootfs` plus `<dir>/<hash>/template.json`, one directory per
 * content hash, so a changed spec builds anew and an unchanged one is reused. The builds share
 * one apt archive cache, `<dir>/.apt-archives` (hard links stay on one file system): what one
 * build downloaded the next one reuses. After each build, and at `prune`, it is pruned to the
 * newest version of each package and `aptCacheMaxMB` (`apt-cache-prune.ts`).
 */
export function createFsTemplateStore(
  dir: string,
  specs: readonly TemplateSpec[] = BUILT_IN_TEMPLATES,
  options: { aptCacheMaxMB?: number } = {},
): TemplateStore {
  const aptCacheMaxBytes = (options.aptCacheMaxMB ?? DEFAULT_APT_CACHE_MAX_MB) * 1024 * 1024;
  const building = new Map<string, Promise<TemplateInfo>>();

  const infoOf = (spec: TemplateSpec): TemplateInfo | undefined => {
    const hash = templateHash(spec);
    const metaPath = join(dir, hash, 'template.json');
    if (!existsSync(metaPath)) return undefined;
    // The env is applied per sandbox, not built, and the names are the spec's: sandboxes get its current ones.
    return { ...(JSON.parse(readFileSync(metaPath, 'utf8')) as TemplateInfo), aliases: spec.aliases, env: spec.env };
  };

  const specFor = (nameOrId: string): TemplateSpec | undefined => {
    // Accept `name`, `team/name`, `name:tag` and `team/name:tag`, as the E2B SDKs send them.
    const bare = nameOrId.split('/').pop()?.split(':')[0] ?? nameOrId;
    return specs.find((s) => s.aliases.includes(bare) || s.name === bare || templateHash(s) === bare);
  };

  return {
    resolve(nameOrId) {
      const spec = specFor(nameOrId);
      const info = spec ? infoOf(spec) : undefined;
      if (!spec || !info) return undefined;
      const bare = nameOrId.split('/').pop()?.split(':')[0] ?? nameOrId;
      return { ...info, codeInterpreter: (spec.codeInterpreterAliases ?? []).includes(bare) };
    },

    list() {
      return specs.map(infoOf).filter((info): info is TemplateInfo => info !== undefined);
    },

    async ensureBuilt(name, options = {}) {
      const spec = specFor(name);
      if (!spec) {
        throw new SandboxdError(ErrorCode.TEMPLATE_NOT_FOUND, `unknown template "${name}"; known: ${specs.flatMap((s) => s.aliases).join(', ')}`);
      }
      const existing = infoOf(spec);
      if (existing) return existing;
      const hash = templateHash(spec);
      let pending = building.get(hash);
      if (!pending) {
        pending = build(spec, hash, options).finally(() => building.delete(hash));
        building.set(hash, pending);
      }
      return pending;
    },

    pruneCache: (pruneOptions) => pruneAptCache(dir, aptCacheMaxBytes, pruneOptions),
  };

  async function build(spec: TemplateSpec, hash: string, options: Parameters<TemplateStore['ensureBuilt']>[1] = {}): Promise<TemplateInfo> {
    await mkdir(dir, { recursive: true });
    for (const name of readdirSync(dir)) {
      if (name.startsWith(`${hash}.partial`)) await rm(join(dir, name), { recursive: true, force: true });
    }
    const partial = join(dir, `${hash}.partial-${process.pid}`);
    await mkdir(partial);
    try {
      await buildRootfs(spec, join(partial, 'rootfs'), { ...options, aptCacheDir: join(dir, APT_CACHE_DIR) });
      const info: TemplateInfo = {
        templateId: hash,
        aliases: spec.aliases,
        rootfsPath: join(dir, hash, 'rootfs'),
        limits: spec.limits,
        env: spec.env,
        createdAt: new Date().toISOString(),
      };
      await writeFile(join(partial, 'template.json'), JSON.stringify(info, null, 2));
      await rename(partial, join(dir, hash));
      // The next build of another hash reuses the cache; only its bound is enforced here.
      await pruneAptCache(dir, aptCacheMaxBytes).catch(() => undefined);
      return info;
    } catch (error) {
      await rm(partial, { recursive: true, force: true });
      throw error;
    }
  }
}
