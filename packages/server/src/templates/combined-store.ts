import type { TemplateInfo, TemplateStore } from './template-store.js';
import type { BuiltTemplate, BuiltTemplates } from './built-templates.js';

/** A built template as the sandbox service sees it. */
export function builtTemplateInfo(t: BuiltTemplate): TemplateInfo {
  return {
    templateId: t.templateId,
    aliases: t.names,
    rootfsPath: t.lowers.join(':'),
    limits: { memoryMB: t.memoryMB, cpuCount: t.cpuCount, pidsLimit: 1024, diskSizeMB: t.diskSizeMB },
    env: t.env,
    createdAt: t.createdAt,
    defaultUser: t.defaultUser,
    defaultWorkdir: t.defaultWorkdir,
    codeInterpreter: t.codeInterpreter,
    ...(t.startCmd !== undefined ? { startCmd: t.startCmd } : {}),
    ...(t.readyCmd !== undefined ? { readyCmd: t.readyCmd } : {}),
    userBuilt: true,
  };
}

/** The built-in templates first (their names cannot be taken), then the built ones. */
export function combineTemplateStores(builtIn: TemplateStore, built: BuiltTemplates): TemplateStore {
  return {
    resolve(nameOrId) {
      const own = builtIn.resolve(nameOrId);
      if (own) return own;
      const t = built.find(nameOrId);
      return t ? builtTemplateInfo(t) : undefined;
    },
    list: () => [...builtIn.list(), ...built.list().map(builtTemplateInfo)],
    ensureBuilt: (name, options) => builtIn.ensureBuilt(name, options),
  };
}
