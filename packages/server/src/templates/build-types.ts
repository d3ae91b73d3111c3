/** One step of a template build, as E2B's `TemplateStep` carries it (`RUN`, `COPY`, `ENV`, ...). */
export interface BuildStep {
  type: string;
  args: string[];
  /** COPY: hash of the uploaded files (the SDK's `filesHash`). */
  filesHash?: string;
  /** Rebuild this step (and everything after it) whatever the cache holds. */
  force?: boolean;
}

/** Registry credentials of `fromImage` (E2B's `GeneralRegistry`). */
export interface RegistryAuth {
  username: string;
  password: string;
}

/** What a build makes a template from: E2B's `TemplateBuildStartV2`. */
export interface BuildDefinition {
  fromTemplate?: string;
  fromImage?: string;
  registry?: RegistryAuth;
  /** Whole build forced: no cached layer is reused. */
  force: boolean;
  steps: BuildStep[];
  startCmd?: string;
  readyCmd?: string;
}

/** The state a step runs in and passes on: user, working directory, environment. */
export interface BuildContext {
  user: string;
  workdir: string;
  env: Record<string, string>;
}

/** One line of a build's log, as the status route returns it. */
export interface BuildLogEntry {
  timestamp: string;
  level: 'debug' | 'info' | 'warn' | 'error';
  message: string;
  /** `base`, the step's number from 1, or `finalize`. */
  step?: string;
}

/** A failing step: the build's `reason`. */
export class BuildStepError extends Error {
  constructor(
    message: string,
    readonly step: string,
    readonly output: string[] = [],
  ) {
    super(message);
    this.name = 'BuildStepError';
  }
}
