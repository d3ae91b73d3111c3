/** The parts of the daemon's REST bodies the dashboard reads (E2B's schemas, by the same names). */

/** `ListedSandbox` (`GET /v2/sandboxes`). */
export interface ListedSandbox {
  sandboxID: string;
  templateID: string;
  alias?: string | null;
  startedAt: string;
  endAt: string;
  cpuCount: number;
  memoryMB: number;
  diskSizeMB?: number;
  state: string;
  metadata?: Record<string, string> | null;
}

/** `SandboxDetail` (`GET /sandboxes/{id}`): the envd access token of the sandbox's processes and files. */
export interface SandboxDetail extends ListedSandbox {
  envdAccessToken?: string;
  domain?: string | null;
}

/** `SandboxMetric`. */
export interface SandboxMetric {
  timestamp: string;
  timestampUnix: number;
  cpuCount: number;
  cpuUsedPct: number;
  memUsed: number;
  memTotal: number;
  diskUsed: number;
  diskTotal: number;
}

/** `SandboxLogEntry` (`GET /v2/sandboxes/{id}/logs`). */
export interface LogEntry {
  timestamp: string;
  level: string;
  message: string;
  fields: Record<string, string>;
}

/** `Template` (`GET /templates`), the fields shown. */
export interface Template {
  templateID: string;
  buildID?: string;
  aliases?: string[];
  names?: string[];
  cpuCount?: number;
  memoryMB?: number;
  diskSizeMB?: number;
  createdAt?: string;
  updatedAt?: string;
  buildStatus?: string;
  buildCount?: number;
  spawnCount?: number;
}

/** `TemplateBuild` of `TemplateWithBuilds` (`GET /templates/{id}`). */
export interface TemplateBuild {
  buildID: string;
  status: string;
  createdAt?: string;
  updatedAt?: string;
  finishedAt?: string;
}

export interface TemplateWithBuilds extends Template {
  builds?: TemplateBuild[];
}

/** `TemplateBuildInfo` (`GET /templates/{id}/builds/{buildID}/status`). */
export interface TemplateBuildInfo {
  templateID: string;
  buildID: string;
  status: string;
  logs?: string[];
  logEntries?: Array<{ timestamp: string; level: string; message: string; step?: string }>;
  reason?: { message: string; step?: string };
}

/** envd `process.ProcessInfo` (Connect JSON). */
export interface ProcessInfo {
  pid: number;
  tag?: string;
  config: { cmd: string; args?: string[]; envs?: Record<string, string>; cwd?: string };
}

/** envd `filesystem.EntryInfo` (Connect JSON: int64 sizes arrive as strings). */
export interface EntryInfo {
  name: string;
  type?: string;
  path: string;
  size?: string | number;
  mode?: number;
  permissions?: string;
  owner?: string;
  group?: string;
  modifiedTime?: string;
  symlinkTarget?: string;
}
