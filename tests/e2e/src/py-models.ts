/**
 * The rules the Python SDK's generated attrs models (e2b/api/client/models, e2b 2.45.1) apply in
 * `from_dict`, written from their sources: a required key that is missing raises KeyError,
 * `isoparse` raises on a malformed date-time, an enum constructor on an unknown value, a nested
 * model on its own missing keys. Types are checked as the attrs annotations declare them
 * (`int` must be a whole number, `Union[None, Unset, str]` may be null, plain `Union[Unset, str]`
 * may not). `from_dict` returns the first violation as a message, or undefined when it would parse.
 */

export type Rule =
  | 'str'
  | 'int'
  | 'float'
  | 'bool'
  | 'datetime'
  | 'version'
  | 'dict'
  | 'any'
  | { enum: readonly string[] }
  | { list: Rule }
  | { map: Rule }
  | { model: Model }
  | { nullable: Rule };

export interface Model {
  name: string;
  required: Record<string, Rule>;
  optional?: Record<string, Rule>;
}

/** dateutil's `isoparse` accepts ISO 8601 date-times; these are the forms a server sends. */
const ISO_DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}([.,]\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/;
/** packaging's `Version` (PEP 440) for the release forms envd versions take. */
const PEP440 = /^v?\d+(\.\d+)*((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?(\+[a-z0-9]+(\.[a-z0-9]+)*)?$/i;

function check(rule: Rule, value: unknown, at: string): string | undefined {
  if (typeof rule === 'object') {
    if ('nullable' in rule) return value === null ? undefined : check(rule.nullable, value, at);
    if ('enum' in rule) return typeof value === 'string' && rule.enum.includes(value) ? undefined : `${at}: ${JSON.stringify(value)} is not one of ${rule.enum.join(', ')}`;
    if ('list' in rule) {
      if (!Array.isArray(value)) return `${at}: expected a list, got ${JSON.stringify(value)}`;
      for (const [i, item] of value.entries()) {
        const err = check(rule.list, item, `${at}[${i}]`);
        if (err) return err;
      }
      return undefined;
    }
    if ('map' in rule) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${at}: expected an object, got ${JSON.stringify(value)}`;
      for (const [k, item] of Object.entries(value)) {
        const err = check(rule.map, item, `${at}.${k}`);
        if (err) return err;
      }
      return undefined;
    }
    return fromDict(rule.model, value, at);
  }
  switch (rule) {
    case 'any':
      return undefined;
    case 'str':
      return typeof value === 'string' ? undefined : `${at}: expected str, got ${JSON.stringify(value)}`;
    case 'int':
      return Number.isInteger(value) ? undefined : `${at}: expected int, got ${JSON.stringify(value)}`;
    case 'float':
      return typeof value === 'number' && Number.isFinite(value) ? undefined : `${at}: expected float, got ${JSON.stringify(value)}`;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `${at}: expected bool, got ${JSON.stringify(value)}`;
    case 'dict':
      return value !== null && typeof value === 'object' && !Array.isArray(value) ? undefined : `${at}: expected a dict, got ${JSON.stringify(value)}`;
    case 'datetime':
      return typeof value === 'string' && ISO_DATETIME.test(value) && !Number.isNaN(Date.parse(value)) ? undefined : `${at}: isoparse fails on ${JSON.stringify(value)}`;
    case 'version':
      return typeof value === 'string' && PEP440.test(value) ? undefined : `${at}: packaging.version.Version fails on ${JSON.stringify(value)}`;
  }
}

/** Whether `value` parses as `model` under `from_dict`: undefined when it does, else the reason. */
export function fromDict(model: Model, value: unknown, at = model.name): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${at}: expected an object, got ${JSON.stringify(value)}`;
  const obj = value as Record<string, unknown>;
  for (const [key, rule] of Object.entries(model.required)) {
    if (!(key in obj)) return `${at}: KeyError '${key}' (required)`;
    const err = check(rule, obj[key], `${at}.${key}`);
    if (err) return err;
  }
  for (const [key, rule] of Object.entries(model.optional ?? {})) {
    if (!(key in obj)) continue;
    const err = check(rule, obj[key], `${at}.${key}`);
    if (err) return err;
  }
  return undefined;
}

/** `fromDict` of a list response (`[Model.from_dict(item) for item in response.json()]`). */
export const listOf = (model: Model, value: unknown): string | undefined => check({ list: { model } }, value, `list[${model.name}]`);

const SandboxState = { enum: ['paused', 'running'] } as const;
const LogLevel = { enum: ['debug', 'error', 'info', 'warn'] } as const;

export const ErrorModel: Model = { name: 'Error', required: { code: 'int', message: 'str' }, optional: { error_code: 'str' } };

export const SandboxModel: Model = {
  name: 'Sandbox',
  required: { templateID: 'str', sandboxID: 'str', clientID: 'str', envdVersion: 'version' },
  optional: { alias: 'str', envdAccessToken: 'str', trafficAccessToken: { nullable: 'str' }, domain: { nullable: 'str' } },
};

const VolumeMount: Model = { name: 'SandboxVolumeMount', required: { name: 'str', path: 'str' } };

const listedRequired = {
  templateID: 'str',
  sandboxID: 'str',
  clientID: 'str',
  startedAt: 'datetime',
  endAt: 'datetime',
  cpuCount: 'int',
  memoryMB: 'int',
  diskSizeMB: 'int',
  state: SandboxState,
  envdVersion: 'version',
} satisfies Record<string, Rule>;

export const ListedSandboxModel: Model = {
  name: 'ListedSandbox',
  required: listedRequired,
  // `metadata` is `Union[Unset, Any]`; SandboxInfo keeps it only when it is a dict.
  optional: { alias: 'str', metadata: { map: 'str' }, volumeMounts: { list: { model: VolumeMount } } },
};

const NetworkConfig: Model = {
  name: 'SandboxNetworkConfig',
  required: {},
  optional: {
    allowPublicTraffic: 'bool',
    allowOut: { list: 'str' },
    denyOut: { list: 'str' },
    egressProxy: { nullable: 'dict' },
    maskRequestHost: 'str',
    rules: { map: { list: 'dict' } },
  },
};

const Lifecycle: Model = { name: 'SandboxLifecycle', required: { autoResume: 'bool', onTimeout: { enum: ['kill', 'pause'] } } };

export const SandboxDetailModel: Model = {
  name: 'SandboxDetail',
  required: listedRequired,
  optional: {
    alias: 'str',
    envdAccessToken: 'str',
    allowInternetAccess: { nullable: 'bool' },
    domain: { nullable: 'str' },
    metadata: { map: 'str' },
    network: { model: NetworkConfig },
    lifecycle: { model: Lifecycle },
    volumeMounts: { list: { model: VolumeMount } },
  },
};

export const SandboxMetricModel: Model = {
  name: 'SandboxMetric',
  required: {
    timestamp: 'datetime',
    timestampUnix: 'int',
    cpuCount: 'int',
    cpuUsedPct: 'float',
    memUsed: 'int',
    memTotal: 'int',
    memCache: 'int',
    diskUsed: 'int',
    diskTotal: 'int',
  },
};

/** `sandboxes` is `Any` in the model; the spec says a map of id → SandboxMetric, checked as such. */
export const SandboxesWithMetricsModel: Model = { name: 'SandboxesWithMetrics', required: { sandboxes: { map: { model: SandboxMetricModel } } } };

const LogEntry: Model = { name: 'SandboxLogEntry', required: { timestamp: 'datetime', message: 'str', level: LogLevel, fields: 'dict' } };

export const SandboxLogsModel: Model = {
  name: 'SandboxLogs',
  required: { logs: { list: { model: { name: 'SandboxLog', required: { timestamp: 'datetime', line: 'str' } } } }, logEntries: { list: { model: LogEntry } } },
};

export const SandboxLogsV2Model: Model = { name: 'SandboxLogsV2Response', required: { logs: { list: { model: LogEntry } } } };

/** `WriteInfo.from_dict` of a `/files` upload entry: `name` and `path` indexed, `type`/`metadata` read with `.get`. */
export const WriteInfoModel: Model = { name: 'WriteInfo', required: { name: 'str', path: 'str' }, optional: { type: { enum: ['file', 'dir'] }, metadata: { nullable: { map: 'str' } } } };

/** `Context.from_json` reads id, language, cwd with `.get` (None when absent); the SDK then uses them as str. */
/** `SnapshotInfo` (`create_snapshot`, `list_snapshots`): both keys required. */
export const SnapshotInfoModel: Model = { name: 'SnapshotInfo', required: { snapshotID: 'str', names: { list: 'str' } } };

/** `SandboxForkResult` (`fork`): `sandbox` or `error`, each optional. */
export const SandboxForkResultModel: Model = { name: 'SandboxForkResult', required: {}, optional: { sandbox: { model: SandboxModel }, error: { model: ErrorModel } } };

export const ContextModel: Model = { name: 'Context', required: { id: 'str', language: 'str', cwd: 'str' } };

/**
 * `_parse_output` of one `/execute` line: `json.loads` (so no blank lines), `type` popped, then the
 * keys that type reads by index. Unknown types (keepalive) are skipped.
 */
export function executionLine(line: string): string | undefined {
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return `json.loads fails on ${JSON.stringify(line.slice(0, 200))}`;
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return `line is not an object: ${line.slice(0, 200)}`;
  const obj = data as Record<string, unknown>;
  if (!('type' in obj)) return `KeyError 'type' in ${line.slice(0, 200)}`;
  const byType: Record<string, Model> = {
    stdout: { name: 'stdout', required: { text: 'str', timestamp: 'any' } },
    stderr: { name: 'stderr', required: { text: 'str', timestamp: 'any' } },
    error: { name: 'error', required: { name: 'str', value: 'str', traceback: 'str' } },
    number_of_executions: { name: 'number_of_executions', required: { execution_count: 'int' } },
    result: { name: 'result', required: {}, optional: { text: 'str', is_main_result: 'bool' } },
  };
  const model = byType[String(obj['type'])];
  return model === undefined ? undefined : fromDict(model, obj);
}
