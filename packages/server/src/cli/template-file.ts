import { existsSync, statSync } from 'node:fs';
import { registerHooks } from 'node:module';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';

/**
 * The template file format of `sandboxd template build`: a JavaScript or TypeScript module (Node
 * strips the types) using the official SDK's `Template` class, exactly what an E2B user writes in
 * `template.ts`, exported as `default` or `template`, optionally with `name`, `cpuCount`,
 * `memoryMB`. A directory means its `template.ts` / `.mts` / `.js` / `.mjs`. `copy()` paths are
 * relative to the file's directory, as with E2B.
 */
export const TEMPLATE_FILE_NAMES = ['template.ts', 'template.mts', 'template.js', 'template.mjs'];

export interface TemplateModule {
  /** The SDK builder (whatever copy of the SDK made it: `Template.build` calls its methods). */
  template: unknown;
  name: string;
  cpuCount?: number;
  memoryMB?: number;
  file: string;
}

/** The template file a path names: the file itself, or a directory's template file. */
export function templateFileOf(path: string): string {
  const full = resolve(path);
  if (!existsSync(full)) throw new SandboxdError(ErrorCode.BAD_REQUEST, `no such file or directory: ${path}`);
  if (!statSync(full).isDirectory()) return full;
  const found = TEMPLATE_FILE_NAMES.map((n) => join(full, n)).find((f) => existsSync(f));
  if (!found) throw new SandboxdError(ErrorCode.BAD_REQUEST, `${path} has no template file (${TEMPLATE_FILE_NAMES.join(', ')})`);
  return found;
}

/** Default name: the file's name without extension, or its directory's for `template.*`. */
export function defaultTemplateName(file: string): string {
  const stem = basename(file, extname(file));
  const raw = stem === 'template' ? basename(dirname(file)) : stem;
  return raw.toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '') || 'template';
}

let hooked = false;
/** A template file's `import 'e2b'` finds this installation's SDK when its own directory has none. */
function resolveSdkFromHere(): void {
  if (hooked) return;
  hooked = true;
  const ours = import.meta.resolve('e2b');
  registerHooks({
    resolve(specifier, context, next) {
      try {
        return next(specifier, context);
      } catch (error) {
        if (specifier === 'e2b') return { url: ours, shortCircuit: true };
        throw error;
      }
    },
  });
}

function isBuilder(value: unknown): boolean {
  return typeof value === 'object' && value !== null && typeof (value as { runCmd?: unknown }).runCmd === 'function';
}

export async function loadTemplateModule(path: string): Promise<TemplateModule> {
  const file = templateFileOf(path);
  resolveSdkFromHere();
  const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const template = [mod['default'], mod['template']].find(isBuilder);
  if (!template) throw new SandboxdError(ErrorCode.BAD_REQUEST, `${file} exports no template: export the SDK's Template() builder as default (or as "template")`);
  const num = (key: string) => (typeof mod[key] === 'number' ? { [key]: mod[key] as number } : {});
  return { template, name: typeof mod['name'] === 'string' ? mod['name'] : defaultTemplateName(file), ...num('cpuCount'), ...num('memoryMB'), file };
}
