import type { Command } from 'commander';
import type { SandboxdConnection } from '@sandboxd/mcp';
import { ErrorCode, SandboxdError } from '@sandboxd/protocol';
import { Template, type LogEntry } from 'e2b';
import { sdkOptions } from './sandbox-client.js';
import type { AptCachePruneResult } from '../templates/apt-cache-prune.js';
import { loadTemplateModule } from './template-file.js';

const mib = (bytes: number): string => (bytes / (1024 * 1024)).toFixed(1);

type Print = (line: string) => void;

/** A progress line for a step message (`[3/7] RUN ...`, `CACHED [3/7] ...`). */
export function stepProgress(message: string): { step: number; of: number; cached: boolean } | undefined {
  const m = /^(CACHED )?\[(\d+)\/(\d+)\]/.exec(message);
  return m ? { step: Number(m[2]), of: Number(m[3]), cached: m[1] !== undefined } : undefined;
}

/** A text progress bar: `[#####-----] 3/7`. */
export function progressBar(done: number, of: number, width = 20): string {
  const filled = of === 0 ? width : Math.round((done / of) * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${of}`;
}

async function api(connection: SandboxdConnection, method: string, path: string): Promise<Response> {
  const res = await fetch(`${connection.apiUrl}${path}`, { method, headers: { 'X-API-KEY': connection.apiKey } });
  if (!res.ok && res.status !== 404) {
    const body = (await res.json().catch(() => ({}))) as { message?: string };
    throw new SandboxdError(ErrorCode.BAD_REQUEST, `${method} ${path}: ${res.status} ${body.message ?? res.statusText}`);
  }
  return res;
}

/** `sandboxd template build <file-or-dir>`: the file's SDK template, built by the running daemon. */
export async function buildTemplateFile(connection: SandboxdConnection, path: string, opts: { name?: string; cpu?: string; memory?: string; skipCache?: boolean }, print: Print): Promise<void> {
  const mod = await loadTemplateModule(path);
  const name = opts.name ?? mod.name;
  const cpuCount = opts.cpu !== undefined ? Number(opts.cpu) : mod.cpuCount;
  const memoryMB = opts.memory !== undefined ? Number(opts.memory) : mod.memoryMB;
  print(`template ${name}: building ${mod.file}`);
  const started = Date.now();
  const info = await Template.build(mod.template as Parameters<typeof Template.build>[0], name, {
    ...sdkOptions(connection),
    ...(cpuCount !== undefined ? { cpuCount } : {}),
    ...(memoryMB !== undefined ? { memoryMB } : {}),
    ...(opts.skipCache ? { skipCache: true } : {}),
    onBuildLogs: (entry: LogEntry) => {
      if (entry.level === 'debug') return;
      const progress = stepProgress(entry.message);
      const elapsed = `${((Date.now() - started) / 1000).toFixed(1)}s`.padStart(7);
      print(progress ? `${elapsed} ${progressBar(progress.step - (progress.cached ? 0 : 1), progress.of)} ${entry.message}` : `${elapsed} ${entry.message}`);
    },
  });
  print(`template ${name}: ready in ${Math.round((Date.now() - started) / 1000)} s (id ${info.templateId}, build ${info.buildId})`);
}

interface ListedTemplate {
  templateID: string;
  names: string[];
  public: boolean;
  cpuCount: number;
  memoryMB: number;
  createdAt: string;
}

export async function listTemplates(connection: SandboxdConnection, opts: { json?: boolean }, print: Print): Promise<void> {
  const list = (await (await api(connection, 'GET', '/templates')).json()) as ListedTemplate[];
  if (opts.json) {
    print(JSON.stringify(list, null, 2));
    return;
  }
  print(['TEMPLATE ID'.padEnd(22), 'KIND'.padEnd(8), 'CPU', 'MEMORY', 'NAMES'].join('  '));
  for (const t of list) print([t.templateID.padEnd(22), (t.public ? 'built-in' : 'built').padEnd(8), String(t.cpuCount).padStart(3), `${t.memoryMB} MB`.padStart(6), t.names.join(', ')].join('  '));
}

export async function deleteTemplate(connection: SandboxdConnection, nameOrId: string, print: Print): Promise<void> {
  const alias = await api(connection, 'GET', `/templates/aliases/${encodeURIComponent(nameOrId)}`);
  const id = alias.status === 404 ? nameOrId : ((await alias.json()) as { templateID: string }).templateID;
  const res = await api(connection, 'DELETE', `/templates/${encodeURIComponent(id)}`);
  if (res.status === 404) throw new SandboxdError(ErrorCode.TEMPLATE_NOT_FOUND, `template "${nameOrId}" not found`);
  print(`deleted template ${nameOrId} (${id})`);
}

export async function pruneTemplates(connection: SandboxdConnection, print: Print): Promise<void> {
  const res = await api(connection, 'POST', '/templates/prune');
  const { layers, uploads, aptArchives: apt } = (await res.json()) as { layers: number; uploads: number; aptArchives?: AptCachePruneResult };
  print(`removed ${layers} cached layer(s) and ${uploads} upload(s) no template or sandbox uses`);
  if (apt?.skipped !== undefined) print(`apt archive cache not pruned: ${apt.skipped}`);
  else if (apt) print(`removed ${apt.removed} apt archive(s) (${mib(apt.bytes)} MiB); ${mib(apt.keptBytes)} MiB kept`);
}

/** `sandboxd template build <file-or-dir> | list | delete | prune` against the running daemon. */
export function registerTemplateCommands(template: Command, connection: () => SandboxdConnection, print: Print): void {
  template
    .command('list')
    .description('list templates (built-in and built)')
    .option('--json', 'print a JSON array')
    .action((opts: { json?: boolean }) => listTemplates(connection(), opts, print));
  template
    .command('delete <name-or-id>')
    .description('delete a built template (its cached layers stay until prune)')
    .action((nameOrId: string) => deleteTemplate(connection(), nameOrId, print));
  template
    .command('prune')
    .description('remove cached build layers and uploads that no template and no running sandbox uses')
    .action(() => pruneTemplates(connection(), print));
}
