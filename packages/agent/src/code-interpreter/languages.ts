/** Language names, the kernelspec behind each, and the small snippets run around user code. */

/** E2B's normalisation: missing/empty → python; lower-cased, trimmed; js/ts aliases. */
export function normalizeLanguage(language: string | null | undefined): string {
  const name = (language ?? '').trim().toLowerCase();
  if (name === '') return 'python';
  if (name === 'js') return 'javascript';
  if (name === 'ts') return 'typescript';
  return name;
}

const KERNELSPECS: Record<string, string> = {
  python: 'python3',
  javascript: 'deno',
  typescript: 'deno',
  bash: 'bash',
  r: 'ir',
  java: 'java',
};

/** Kernelspec name for a normalised language, or undefined when none is installed. */
export function kernelSpecFor(language: string): string | undefined {
  return Object.hasOwn(KERNELSPECS, language) ? KERNELSPECS[language] : undefined;
}

export const SUPPORTED_LANGUAGES = Object.keys(KERNELSPECS);

function pythonString(value: string): string {
  return JSON.stringify(value); // a JSON string literal is a valid Python string literal
}

/** A JSON string literal is a valid R string literal too (R reads \" \\ \n \t \uXXXX alike). */
function rString(value: string): string {
  return JSON.stringify(value);
}

function bashWord(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

function assertEnvName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new RangeError(`invalid environment variable name: ${JSON.stringify(name)}`);
}

/** Code that sets `vars` in the kernel's process environment (run as a silent cell). */
export function setEnvCode(language: string, vars: Record<string, string>): string {
  const entries = Object.entries(vars);
  for (const [name] of entries) assertEnvName(name);
  switch (kernelSpecFor(language)) {
    case 'python3':
      return `__import__('os').environ.update({${entries.map(([k, v]) => `${pythonString(k)}: ${pythonString(v)}`).join(', ')}})`;
    case 'deno':
      return entries.map(([k, v]) => `Deno.env.set(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n');
    case 'bash':
      return entries.map(([k, v]) => `export ${k}=${bashWord(v)}`).join('\n');
    case 'java':
      // E2B's Java kernel shows environment variables as system properties.
      return entries.map(([k, v]) => `System.setProperty(${JSON.stringify(k)}, ${JSON.stringify(v)});`).join('\n');
    case 'ir':
      return entries.length === 0 ? '' : `invisible(Sys.setenv(${entries.map(([k, v]) => `\`${k}\` = ${rString(v)}`).join(', ')}))`;
    default:
      return '';
  }
}

/** Code that puts each of `names` back to its value in `base`, or removes it. */
export function restoreEnvCode(language: string, names: string[], base: Record<string, string | undefined>): string {
  for (const name of names) assertEnvName(name);
  const kept = names.filter((k) => base[k] !== undefined);
  const removed = names.filter((k) => base[k] === undefined);
  const keptVars = Object.fromEntries(kept.map((k) => [k, base[k]!]));
  switch (kernelSpecFor(language)) {
    case 'python3':
      return [
        kept.length > 0 ? setEnvCode(language, keptVars) : '',
        ...removed.map((k) => `__import__('os').environ.pop(${pythonString(k)}, None)`),
      ]
        .filter(Boolean)
        .join('\n');
    case 'deno':
      return [setEnvCode(language, keptVars), ...removed.map((k) => `Deno.env.delete(${JSON.stringify(k)});`)].filter(Boolean).join('\n');
    case 'bash':
      return [setEnvCode(language, keptVars), ...removed.map((k) => `unset ${k}`)].filter(Boolean).join('\n');
    case 'ir':
      return [setEnvCode(language, keptVars), ...removed.map((k) => `invisible(Sys.unsetenv(${rString(k)}))`)].filter(Boolean).join('\n');
    case 'java':
      return [setEnvCode(language, keptVars), ...removed.map((k) => `System.clearProperty(${JSON.stringify(k)});`)].filter(Boolean).join('\n');
    default:
      return '';
  }
}

/**
 * Silent cell run once after a kernel starts, before any user cell: imports that make the first
 * real cell fast (Python), and the globals E2B's kernels have: `require` in JavaScript and
 * TypeScript (E2B's kernel runs on Node), resolving from the context's working directory, so
 * `require('fs')` and a package `npm install`ed there both load; and in Java the environment as
 * system properties (E2B's Java kernel reads `System.getProperty("VAR")`), which also starts the
 * JVM before the first cell. The Deno cell is also Deno's first execution (it sets up the
 * TypeScript pipeline, seconds under gVisor on a loaded box), so a pooled sandbox's first
 * JavaScript cell, and the claim's env update, do not pay for it.
 */
/**
 * Code that seeds the kernel's random generators afresh from the OS (run as a silent cell after a
 * restore: every sandbox restored from one image would otherwise draw the same numbers from
 * Python's `random` and NumPy's global generator, both seeded once when the image's kernel
 * started). Undefined for languages with nothing to reseed in place.
 */
export function reseedCode(language: string): string | undefined {
  switch (kernelSpecFor(language)) {
    case 'python3':
      return "__import__('random').seed()\n(lambda np: np is not None and np.random.seed())(__import__('sys').modules.get('numpy'))";
    default:
      return undefined;
  }
}

export function warmupCode(language: string): string | undefined {
  switch (kernelSpecFor(language)) {
    case 'python3':
      return ['try:', '    import numpy, pandas, matplotlib.pyplot', 'except Exception:', '    pass'].join('\n');
    case 'java':
      return 'System.getenv().forEach((k, v) -> { if (System.getProperty(k) == null) System.setProperty(k, v); });';
    case 'deno':
      return 'globalThis.require ??= (await import("node:module")).createRequire(`${Deno.cwd()}/`);';
    default:
      return undefined;
  }
}
