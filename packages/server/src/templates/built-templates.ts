import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A template built through the build API: its layers over a base root, and its facts. */
export interface BuiltTemplate {
  templateId: string;
  /** Names it answers to (`name`, and `name:tag` per tag). */
  names: string[];
  tags: string[];
  buildId: string;
  /** Layer directories, top first, then the base's own lowers: an overlayfs `lowerdir` list. */
  lowers: string[];
  /** Layer keys the template holds (prune keeps every layer some template holds). */
  layerKeys: string[];
  env: Record<string, string>;
  defaultUser: string;
  defaultWorkdir: string;
  codeInterpreter: boolean;
  startCmd?: string;
  readyCmd?: string;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB: number;
  createdAt: string;
  updatedAt: string;
}

/** Built templates on disk, one JSON file each: `<dir>/<templateId>.json`. */
export function createBuiltTemplates(dir: string) {
  const path = (id: string) => join(dir, `${id}.json`);
  const list = (): BuiltTemplate[] =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.json'))
          .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as BuiltTemplate)
      : [];
  const bare = (name: string) => name.split('/').pop() ?? name;
  return {
    list,
    get(templateId: string): BuiltTemplate | undefined {
      return /^[a-z0-9]+$/.test(templateId) && existsSync(path(templateId)) ? (JSON.parse(readFileSync(path(templateId), 'utf8')) as BuiltTemplate) : undefined;
    },
    /** By id, `name`, `name:tag` or `team/name[:tag]`; a bare name is its `default` tag or its latest build. */
    find(nameOrId: string): BuiltTemplate | undefined {
      const wanted = bare(nameOrId);
      const all = list();
      return all.find((t) => t.templateId === wanted) ?? all.find((t) => t.names.includes(wanted));
    },
    async save(template: BuiltTemplate): Promise<void> {
      await mkdir(dir, { recursive: true });
      const tmp = `${path(template.templateId)}.tmp`;
      await writeFile(tmp, JSON.stringify(template, null, 2));
      await rename(tmp, path(template.templateId));
    },
    async remove(templateId: string): Promise<boolean> {
      if (!existsSync(path(templateId))) return false;
      await rm(path(templateId), { force: true });
      return true;
    },
  };
}

export type BuiltTemplates = ReturnType<typeof createBuiltTemplates>;
