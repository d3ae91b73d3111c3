import type { OperationOptions, SandboxLimits } from '../runtime/sandbox-runtime.js';

/** A built template, ready to back sandboxes. */
export interface TemplateInfo {
  /** Stable id (content hash of the spec). */
  templateId: string;
  /** Names it answers to, e.g. `base`, `code-interpreter-v1`. */
  aliases: string[];
  rootfsPath: string;
  limits: SandboxLimits;
  /** Environment of every process in its sandboxes, beneath the create request's `envVars`. */
  env?: Record<string, string>;
  createdAt: string;
}

/** Resolves the template names the create request carries (`name`, `team/name`, `name:tag`). */
export interface TemplateStore {
  /** The template for a name or id; undefined when unknown or not built. */
  resolve(nameOrId: string): TemplateInfo | undefined;
  list(): TemplateInfo[];
  /** Builds the template when absent; reports progress lines. */
  ensureBuilt(name: string, options?: OperationOptions & { onProgress?: (line: string) => void }): Promise<TemplateInfo>;
}
