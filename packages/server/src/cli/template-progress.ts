import type { TemplateInfo, TemplateStore } from '../templates/template-store.js';
import { BUILT_IN_TEMPLATES } from '../templates/template-spec.js';

/** The names `template build` and `start` build when none is given: every built-in template, lean base first. */
export const builtInTemplateNames = (): string[] => BUILT_IN_TEMPLATES.map((spec) => spec.name);

/** Builds each absent template in turn (one after the other: the later ones reuse the earlier ones' downloads). */
export async function buildTemplatesWithProgress(store: TemplateStore, names: readonly string[], print: (line: string) => void): Promise<TemplateInfo[]> {
  const built: TemplateInfo[] = [];
  for (const name of names) built.push(await buildTemplateWithProgress(store, name, print));
  return built;
}

/** Builds a template when absent, printing mmdebstrap's phases and a running package count. */
async function buildTemplateWithProgress(store: TemplateStore, name: string, print: (line: string) => void): Promise<TemplateInfo> {
  const existing = store.resolve(name);
  if (existing) {
    print(`template ${name}: ready (${existing.templateId})`);
    return existing;
  }
  print(`template ${name}: building from Debian packages with mmdebstrap (minutes: see the README)`);
  const started = Date.now();
  let unpacked = 0;
  let configured = 0;
  const info = await store.ensureBuilt(name, {
    onProgress: (line) => {
      if (line.startsWith('I: ') || line.startsWith('E: ') || line.startsWith('W: ')) print(`  ${line}`);
      else if (line.startsWith('Unpacking ')) {
        if (++unpacked % 50 === 0) print(`  ... ${unpacked} packages unpacked`);
      } else if (line.startsWith('Setting up ')) {
        if (++configured % 50 === 0) print(`  ... ${configured} packages configured`);
      }
    },
  });
  print(`template ${name}: built in ${Math.round((Date.now() - started) / 1000)} s (${info.templateId})`);
  return info;
}
