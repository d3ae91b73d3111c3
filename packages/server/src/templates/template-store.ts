import type { OperationOptions } from '@sandboxd/protocol';
import type { SandboxLimits } from '../domain/sandbox-limits.js';
import type { AptCachePruneResult } from './apt-cache-prune.js';

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
  /** User that runs processes when a request names none (default `user`). */
  defaultUser?: string;
  /** Working directory of processes when a request names none (default: the user's home). */
  defaultWorkdir?: string;
  /** Whether its sandboxes boot the code-interpreter kernels at start. */
  codeInterpreter?: boolean;
  /** Started by the agent when a sandbox boots (E2B's `setStartCmd`). */
  startCmd?: string;
  /** Must pass (exit 0) in a new sandbox before its create answers (E2B's `setReadyCmd`). */
  readyCmd?: string;
  /** true: a template built through the build API (deletable); false/absent: built in. */
  userBuilt?: boolean;
}

/** Resolves the template names the create request carries (`name`, `team/name`, `name:tag`). */
export interface TemplateStore {
  /** The template for a name or id; undefined when unknown or not built. */
  resolve(nameOrId: string): TemplateInfo | undefined;
  list(): TemplateInfo[];
  /** Builds the template when absent; reports progress lines. */
  ensureBuilt(name: string, options?: OperationOptions & { onProgress?: (line: string) => void }): Promise<TemplateInfo>;
  /** Prunes what its builds cache (the built-in templates' apt archives); absent: nothing cached. */
  pruneCache?(options?: OperationOptions): Promise<AptCachePruneResult>;
}
