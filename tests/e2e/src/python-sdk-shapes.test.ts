import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { after, before, describe } from 'node:test';
import { CODE_INTERPRETER_PORT } from '@sandboxd/protocol';
import { CALL_MS, CREATE_MS, RUN_ID, e2eTest, rawFetch, type RawResponse } from './helpers.js';
import { pyOpenStream, pyServerStream, pyUnary, streamContentTypeOk, unaryContentTypeOk, type PyRpcTarget } from './py-connect.js';
import {
  ContextModel,
  ErrorModel,
  ListedSandboxModel,
  SandboxDetailModel,
  SandboxLogsModel,
  SandboxLogsV2Model,
  SandboxMetricModel,
  SandboxModel,
  SandboxesWithMetricsModel,
  SandboxForkResultModel,
  SnapshotInfoModel,
  WriteInfoModel,
  executionLine,
  fromDict,
  listOf,
  type Model,
} from './py-models.js';
import {
  httpxMultipart,
  httpxQuery,
  pyApiHeaders,
  pyAuthHeader,
  pyFileUrl,
  pyIsoformat,
  pyMetadataFilter,
  pySandboxHeaders,
  pySignature,
} from './py-wire.js';
import { startStack, withTimeout, type Stack } from './stack.js';

// Issue 10 item 3: the requests the Python `e2b` and `e2b-code-interpreter` SDKs send, exactly as
// their sources build them, against a real daemon; every answer is checked against the Python
// models' parse rules and the status codes the generated client parses. See docs/compatibility.md.

let stack: Stack;
const test = e2eTest(() => stack);
const created: string[] = [];

before(async () => {
  stack = await startStack();
});
after(async () => {
  for (const id of created) await fetch(`${stack.apiUrl}/sandboxes/${id}`, { method: 'DELETE', headers: { 'X-API-KEY': stack.apiKey } }).catch(() => undefined);
  await stack?.stop();
});

/** The statuses each generated `_parse_response` parses (others give `parsed=None`). */
const PARSED = {
  createSandbox: [201, 400, 401, 500, 503, 504],
  getSandbox: [200, 401, 404, 500],
  connect: [200, 201, 400, 401, 404, 409, 500, 503, 504],
  setTimeout: [204, 401, 404, 500],
  refresh: [204, 401, 404],
  kill: [204, 401, 404, 500],
  network: [204, 401, 404, 409, 500],
  listV2: [200, 400, 401, 500],
  listV1: [200, 400, 401, 500],
  metrics: [200, 400, 401, 404, 500],
  sandboxesMetrics: [200, 400, 401, 500],
  logsV1: [200, 401, 404, 500],
  logsV2: [200, 401, 404, 500],
  pause: [204, 401, 404, 409, 500],
  createSnapshot: [201, 400, 401, 404, 500],
  listSnapshots: [200, 401, 500],
  fork: [201, 401, 404, 409, 500, 503],
  deleteTemplate: [204, 401, 500],
} as const;

/** A REST call with the Python client's headers (`Content-Type: application/json` only with a body). */
function pyRest(method: string, path: string, body?: unknown, apiKey = stack.apiKey, ms = CALL_MS): Promise<RawResponse> {
  const headers = { ...pyApiHeaders(apiKey), ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) };
  return rawFetch(`${stack.apiUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) }, ms);
}

/** The answer is `status`, a status the generated client parses, and (with a model) parses under it. */
function expectParsed(op: keyof typeof PARSED, res: RawResponse, status: number, model?: Model | ((json: unknown) => string | undefined)): void {
  // Set to a file path to record every answer (op, status, body) for a run through the Python
  // client's own `_parse_response` where its packages are available (docs/compatibility.md).
  const dump = process.env['PY_SHAPES_DUMP'];
  if (dump) appendFileSync(dump, `${JSON.stringify({ op, status: res.status, body: res.text })}\n`);
  assert.equal(res.status, status, `${op}: expected ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  assert.ok((PARSED[op] as readonly number[]).includes(res.status), `${op}: the Python client does not parse ${res.status}`);
  if (model === undefined) return;
  const err = typeof model === 'function' ? model(res.json) : fromDict(model, res.json);
  assert.equal(err, undefined, `${op}: ${err} in ${res.text.slice(0, 800)}`);
}

/** An error the SDK turns into its exception: parsed as `Error` and carrying a `message` for handle_api_exception. */
function expectPyError(op: keyof typeof PARSED, res: RawResponse, status: number): void {
  expectParsed(op, res, status, ErrorModel);
  assert.equal((res.json as { code: number }).code, status);
}

interface Created {
  id: string;
  token: string | undefined;
  rpc: PyRpcTarget;
}

/** `SandboxApi._create_sandbox`: POST /sandboxes with NewSandbox.to_dict() of `Sandbox.create(...)`. */
async function pyCreate(template: string, metadata: Record<string, string>, extra: Record<string, unknown> = {}): Promise<Created> {
  const body = { templateID: template, timeout: 300, secure: true, allow_internet_access: true, metadata, envVars: {}, ...extra };
  const res = await pyRest('POST', '/sandboxes', body, stack.apiKey, CREATE_MS);
  expectParsed('createSandbox', res, 201, SandboxModel);
  const sandbox = res.json as { sandboxID: string; envdVersion: string; envdAccessToken?: string; domain?: string | null };
  created.push(sandbox.sandboxID);
  // `Version(envd_version) < Version("0.1.0")` kills the sandbox and raises TemplateException.
  assert.ok(Number(sandbox.envdVersion.split('.')[0]) > 0 || Number(sandbox.envdVersion.split('.')[1]) >= 1, sandbox.envdVersion);
  return {
    id: sandbox.sandboxID,
    token: sandbox.envdAccessToken,
    rpc: { sandboxUrl: stack.sandboxUrl, sandboxHeaders: pySandboxHeaders(sandbox.sandboxID, sandbox.envdAccessToken) },
  };
}

/** Names the request a transport error (reset, timeout) came from. */
const step = <T>(label: string, promise: Promise<T>): Promise<T> =>
  promise.catch((err: unknown) => {
    throw new Error(`${label}: ${err instanceof Error ? `${err.message}${err.cause ? ` (${String(err.cause)})` : ''}` : String(err)}`, { cause: err });
  });

const runMeta = (purpose: string): Record<string, string> => ({ suite: 'python-sdk-shapes', run: RUN_ID, purpose });

describe('Python SDK: control plane (e2b/api/client, sandbox_sync/sandbox_api.py)', () => {
  test('create, get_info, connect, set_timeout, refreshes, metrics, logs, network, kill', 400_000, async () => {
    const sbx = await pyCreate('base', runMeta('lifecycle'));
    assert.equal(typeof sbx.token, 'string', 'secure=True: envdAccessToken is what X-Access-Token becomes');

    const info = await pyRest('GET', `/sandboxes/${sbx.id}`);
    expectParsed('getSandbox', info, 200, SandboxDetailModel);
    const detail = info.json as { state: string; metadata: Record<string, string>; lifecycle: unknown };
    assert.equal(detail.state, 'running');
    assert.deepEqual(detail.metadata, runMeta('lifecycle'));

    // `_cls_connect`: the timeout is always sent (`timeout or 300`).
    const connected = await pyRest('POST', `/sandboxes/${sbx.id}/connect`, { timeout: 300 });
    expectParsed('connect', connected, (connected.status === 201 ? 201 : 200), SandboxModel);
    assert.equal((connected.json as { sandboxID: string }).sandboxID, sbx.id);

    expectParsed('setTimeout', await pyRest('POST', `/sandboxes/${sbx.id}/timeout`, { timeout: 600 }), 204);
    expectParsed('refresh', await pyRest('POST', `/sandboxes/${sbx.id}/refreshes`, { duration: 60 }), 204);
    expectParsed('refresh', await pyRest('POST', `/sandboxes/${sbx.id}/refreshes`, {}), 204);

    // `_cls_get_metrics`: start/end as `int(dt.timestamp())`.
    const nowSec = Math.floor(Date.now() / 1000);
    const metrics = await pyRest('GET', `/sandboxes/${sbx.id}/metrics${httpxQuery({ start: nowSec - 600, end: nowSec + 60 })}`);
    expectParsed('metrics', metrics, 200, (json) => listOf(SandboxMetricModel, json));
    assert.ok((metrics.json as unknown[]).length >= 1, 'a running sandbox has a current sample');
    expectParsed('metrics', await pyRest('GET', `/sandboxes/${sbx.id}/metrics`), 200, (json) => listOf(SandboxMetricModel, json));
    // `get_sandboxes_metrics`: `sandbox_ids` joined with commas.
    const many = await pyRest('GET', `/sandboxes/metrics${httpxQuery({ sandbox_ids: [sbx.id, 'inotthere0000000000000'].join(',') })}`);
    expectParsed('sandboxesMetrics', many, 200, SandboxesWithMetricsModel);
    assert.ok(sbx.id in (many.json as { sandboxes: Record<string, unknown> }).sandboxes);

    const logsV1 = await pyRest('GET', `/sandboxes/${sbx.id}/logs${httpxQuery({ start: Date.now() - 600_000, limit: 1000 })}`);
    expectParsed('logsV1', logsV1, 200, SandboxLogsModel);
    const logsV2 = await pyRest('GET', `/v2/sandboxes/${sbx.id}/logs${httpxQuery({ cursor: Date.now() - 600_000, limit: 100, direction: 'forward', level: 'info' })}`);
    expectParsed('logsV2', logsV2, 200, SandboxLogsV2Model);

    // `build_network_update_body` of {"allow_out": [...], "deny_out": [...], "allow_internet_access": True}.
    expectParsed('network', await pyRest('PUT', `/sandboxes/${sbx.id}/network`, { allowOut: ['1.1.1.1'], denyOut: ['8.8.8.8/32'], allow_internet_access: true }), 204);
    const after = await pyRest('GET', `/sandboxes/${sbx.id}`);
    expectParsed('getSandbox', after, 200, SandboxDetailModel);
    assert.deepEqual((after.json as { network: { allowOut: string[]; denyOut: string[] } }).network.allowOut, ['1.1.1.1']);
    assert.deepEqual((after.json as { network: { allowOut: string[]; denyOut: string[] } }).network.denyOut, ['8.8.8.8/32']);
    expectParsed('network', await pyRest('PUT', `/sandboxes/${sbx.id}/network`, {}), 204);

    // `_cls_kill`: 204 → True, 404 → False.
    expectParsed('kill', await pyRest('DELETE', `/sandboxes/${sbx.id}`), 204);
    expectPyError('kill', await pyRest('DELETE', `/sandboxes/${sbx.id}`), 404);
    // 404 → SandboxNotFoundException in get_info, set_timeout, connect, update_network.
    expectPyError('getSandbox', await pyRest('GET', `/sandboxes/${sbx.id}`), 404);
    expectPyError('setTimeout', await pyRest('POST', `/sandboxes/${sbx.id}/timeout`, { timeout: 60 }), 404);
    expectPyError('connect', await pyRest('POST', `/sandboxes/${sbx.id}/connect`, { timeout: 300 }), 404);
    expectPyError('refresh', await pyRest('POST', `/sandboxes/${sbx.id}/refreshes`, { duration: 60 }), 404);
    expectPyError('network', await pyRest('PUT', `/sandboxes/${sbx.id}/network`, { allowOut: ['1.1.1.1'] }), 404);
    expectPyError('logsV2', await pyRest('GET', `/v2/sandboxes/${sbx.id}/logs`), 404);
    expectPyError('logsV1', await pyRest('GET', `/sandboxes/${sbx.id}/logs`), 404);
    // `is_running`: envd's /health through the proxy; 502 → False.
    const health = await rawFetch(`${stack.sandboxUrl}/health`, { headers: sbx.rpc.sandboxHeaders });
    assert.equal(health.status, 502, health.text);
  });

  test('pause (keep_memory), list state=paused, connect resumes (201), pause of a paused sandbox (409)', 300_000, async () => {
    // `_cls_pause`: SandboxPauseRequest(memory=keep_memory); 409 → False; `connect` resumes.
    const sbx = await pyCreate('base', runMeta('pause'));
    expectParsed('pause', await pyRest('POST', `/sandboxes/${sbx.id}/pause`, { memory: true }), 204);
    expectParsed('pause', await pyRest('POST', `/sandboxes/${sbx.id}/pause`, { memory: true }), 409, ErrorModel);
    const info = await pyRest('GET', `/sandboxes/${sbx.id}`);
    expectParsed('getSandbox', info, 200, SandboxDetailModel);
    assert.equal((info.json as { state: string }).state, 'paused');
    const paused = await pyRest('GET', `/v2/sandboxes${httpxQuery({ metadata: pyMetadataFilter(runMeta('pause')), state: 'paused' })}`);
    expectParsed('listV2', paused, 200, (json) => listOf(ListedSandboxModel, json));
    assert.deepEqual((paused.json as Array<{ sandboxID: string }>).map((s) => s.sandboxID), [sbx.id]);
    const resumed = await pyRest('POST', `/sandboxes/${sbx.id}/connect`, { timeout: 300 }, stack.apiKey, CREATE_MS);
    expectParsed('connect', resumed, 201, SandboxModel);
    const again = await pyRest('POST', `/sandboxes/${sbx.id}/connect`, { timeout: 300 });
    expectParsed('connect', again, 200, SandboxModel);
    // keep_memory=False: a filesystem-only pause (204), then paused in info like the memory one.
    expectParsed('pause', await pyRest('POST', `/sandboxes/${sbx.id}/pause`, { memory: false }), 204);
    assert.equal(((await pyRest('GET', `/sandboxes/${sbx.id}`)).json as { state: string }).state, 'paused');
    expectParsed('kill', await pyRest('DELETE', `/sandboxes/${sbx.id}`), 204);
    expectParsed('pause', await pyRest('POST', `/sandboxes/${sbx.id}/pause`, { memory: true }), 404, ErrorModel);
  });

  test('create_snapshot, list_snapshots, fork (count 1, the default timeout), delete_snapshot', 600_000, async () => {
    const sbx = await pyCreate('base', runMeta('snapshot'));
    // `_cls_create_snapshot`: SandboxSnapshotRequest(name=UNSET).to_dict() is `{}`; 201 SnapshotInfo.
    const snap = await pyRest('POST', `/sandboxes/${sbx.id}/snapshots`, {}, stack.apiKey, CREATE_MS);
    expectParsed('createSnapshot', snap, 201, SnapshotInfoModel);
    const snapshotId = (snap.json as { snapshotID: string }).snapshotID;
    // SnapshotPaginator: `get_snapshots` with sandboxID and limit (UNSET and None dropped).
    const listed = await pyRest('GET', `/snapshots${httpxQuery({ sandboxID: sbx.id, limit: 100 })}`);
    expectParsed('listSnapshots', listed, 200, (json) => listOf(SnapshotInfoModel, json));
    assert.ok((listed.json as Array<{ snapshotID: string }>).some((s) => s.snapshotID === snapshotId), listed.text);
    // `_cls_fork`: SandboxForkRequest(timeout=default_sandbox_timeout, count=1); 201 list[SandboxForkResult].
    const forked = await pyRest('POST', `/sandboxes/${sbx.id}/fork`, { timeout: 300, count: 1 }, stack.apiKey, CREATE_MS * 2);
    expectParsed('fork', forked, 201, (json) => listOf(SandboxForkResultModel, json));
    const results = forked.json as Array<{ sandbox?: { sandboxID: string }; error?: unknown }>;
    assert.equal(results.length, 1);
    assert.ok(results[0]?.sandbox, forked.text);
    created.push(results[0].sandbox.sandboxID);
    // `_cls_delete_snapshot`: DELETE /templates/{id}; 204 → True, 404 → False (checked before parsing).
    expectParsed('deleteTemplate', await pyRest('DELETE', `/templates/${encodeURIComponent(snapshotId)}`), 204);
    assert.equal((await pyRest('DELETE', `/templates/${encodeURIComponent(snapshotId)}`)).status, 404);
    for (const id of [sbx.id, results[0].sandbox.sandboxID]) expectParsed('kill', await pyRest('DELETE', `/sandboxes/${id}`), 204);
  });

  test('create options: secure=False, lifecycle kill, auto_resume False, allow_public_traffic False', 300_000, async () => {
    // `build_lifecycle_config({"on_timeout": "kill", "auto_resume": False})` and `build_network_config`.
    const sbx = await pyCreate('base', runMeta('options'), {
      secure: false,
      autoPause: false,
      autoResume: { enabled: false },
      network: { allowPublicTraffic: false, allowOut: ['1.1.1.1'] },
    });
    assert.equal(sbx.token, undefined, 'secure=False: no envdAccessToken, so no X-Access-Token');
    const info = await pyRest('GET', `/sandboxes/${sbx.id}`);
    expectParsed('getSandbox', info, 200, SandboxDetailModel);
    assert.deepEqual((info.json as { lifecycle: unknown }).lifecycle, { autoResume: false, onTimeout: 'kill' });
    const created = await pyRest('POST', `/sandboxes/${sbx.id}/connect`, { timeout: 300 });
    expectParsed('connect', created, created.status === 201 ? 201 : 200, SandboxModel);
    const traffic = (created.json as { trafficAccessToken?: string | null }).trafficAccessToken;
    assert.equal(typeof traffic, 'string', 'allow_public_traffic=False: a traffic token');
    // envd requests carry no traffic token (sandbox_headers) and must pass; the code interpreter's carry it.
    const health = await rawFetch(`${stack.sandboxUrl}/health`, { headers: sbx.rpc.sandboxHeaders });
    assert.ok(health.status >= 200 && health.status < 300, `${health.status} ${health.text}`);
    const ci = { 'E2b-Sandbox-Id': sbx.id, 'E2b-Sandbox-Port': String(CODE_INTERPRETER_PORT) };
    const withToken = await rawFetch(`${stack.sandboxUrl}/health`, { headers: { ...ci, 'E2B-Traffic-Access-Token': traffic! } });
    assert.equal(withToken.status, 200, withToken.text);
    const withoutToken = await rawFetch(`${stack.sandboxUrl}/health`, { headers: ci });
    assert.equal(withoutToken.status, 403, withoutToken.text);
    expectParsed('kill', await pyRest('DELETE', `/sandboxes/${sbx.id}`), 204);
  });

  test('errors the Python client parses: 401 on a wrong key, 400 on a bad body', 120_000, async () => {
    const wrong = `e2b_${'0'.repeat(40)}`;
    expectPyError('createSandbox', await pyRest('POST', '/sandboxes', { templateID: 'base', timeout: 300 }, wrong), 401);
    expectPyError('listV2', await pyRest('GET', '/v2/sandboxes', undefined, wrong), 401);
    expectPyError('getSandbox', await pyRest('GET', '/sandboxes/whatever', undefined, wrong), 401);
    expectPyError('kill', await pyRest('DELETE', '/sandboxes/whatever', undefined, wrong), 401);
    expectPyError('createSandbox', await pyRest('POST', '/sandboxes', { templateID: 'base', timeout: 0 }), 400);
    expectPyError('createSandbox', await pyRest('POST', '/sandboxes', { templateID: 'base', timeout: 300, autoPauseMemory: false }), 400);
    expectPyError('listV2', await pyRest('GET', `/v2/sandboxes${httpxQuery({ state: 'sleeping' })}`), 400);
    // The REST /health needs no key (E2B: 204, no body).
    const health = await rawFetch(`${stack.apiUrl}/health`);
    assert.equal(health.status, 204, health.text);
  });

  test('list: metadata, state, startedAfter (isoformat), template, order, limit and x-next-token paging', 400_000, async () => {
    const metadata = { ...runMeta('list'), 'a b': 'c&d=e/é+' };
    const first = await pyCreate('base', metadata);
    const second = await pyCreate('code-interpreter-v1', metadata);
    const listed = await pyRest('GET', `/v2/sandboxes${httpxQuery({ metadata: pyMetadataFilter(metadata) })}`);
    expectParsed('listV2', listed, 200, (json) => listOf(ListedSandboxModel, json));
    const all = listed.json as Array<{ sandboxID: string; startedAt: string; metadata: Record<string, string> }>;
    assert.deepEqual(new Set(all.map((s) => s.sandboxID)), new Set([first.id, second.id]));
    assert.deepEqual(all[0]!.metadata, metadata);

    // Paging as SandboxPaginator does: limit, then nextToken from the x-next-token header until it is absent.
    const seen: string[] = [];
    let token: string | undefined;
    for (let page = 0; page < 4; page += 1) {
      const res = await pyRest('GET', `/v2/sandboxes${httpxQuery({ metadata: pyMetadataFilter(metadata), state: 'running,paused', order: 'asc', nextToken: token, limit: 1 })}`);
      expectParsed('listV2', res, 200, (json) => listOf(ListedSandboxModel, json));
      seen.push(...(res.json as Array<{ sandboxID: string }>).map((s) => s.sandboxID));
      token = res.headers.get('x-next-token') ?? undefined;
      if (!token) break;
    }
    assert.deepEqual(seen, [first.id, second.id], 'two pages of one, oldest first, then no token');

    // `started_after.astimezone().isoformat()`: microseconds and a +00:00 offset; inclusive.
    const secondStart = new Date(all.find((s) => s.sandboxID === second.id)!.startedAt);
    const since = await pyRest('GET', `/v2/sandboxes${httpxQuery({ metadata: pyMetadataFilter(metadata), startedAfter: pyIsoformat(secondStart) })}`);
    expectParsed('listV2', since, 200, (json) => listOf(ListedSandboxModel, json));
    assert.deepEqual((since.json as Array<{ sandboxID: string }>).map((s) => s.sandboxID), [second.id]);
    const later = await pyRest('GET', `/v2/sandboxes${httpxQuery({ metadata: pyMetadataFilter(metadata), startedAfter: pyIsoformat(secondStart, 1) })}`);
    expectParsed('listV2', later, 200, (json) => listOf(ListedSandboxModel, json));
    assert.deepEqual(later.json, []);

    const byTemplate = await pyRest('GET', `/v2/sandboxes${httpxQuery({ metadata: pyMetadataFilter(metadata), template: 'code-interpreter-v1' })}`);
    expectParsed('listV2', byTemplate, 200, (json) => listOf(ListedSandboxModel, json));
    assert.deepEqual((byTemplate.json as Array<{ sandboxID: string }>).map((s) => s.sandboxID), [second.id]);

    // The v1 list of the generated client (`get_sandboxes`, metadata only).
    const v1 = await pyRest('GET', `/sandboxes${httpxQuery({ metadata: pyMetadataFilter(metadata) })}`);
    expectParsed('listV1', v1, 200, (json) => listOf(ListedSandboxModel, json));
    assert.equal((v1.json as unknown[]).length, 2);

    for (const sbx of [first, second]) expectParsed('kill', await pyRest('DELETE', `/sandboxes/${sbx.id}`), 204);
  });
});

/** Proto3 JSON as connect-es emits it (int64 as a string); what the SDK's JSON codec reads. */
const EntryInfoModel: Model = {
  name: 'filesystem.EntryInfo',
  required: { name: 'str', type: { enum: ['FILE_TYPE_FILE', 'FILE_TYPE_DIRECTORY', 'FILE_TYPE_SYMLINK'] }, path: 'str', owner: 'str', group: 'str', permissions: 'str', modifiedTime: 'datetime' },
  optional: { size: 'str', mode: 'int', symlinkTarget: 'str', metadata: { map: 'str' } },
};

type ProcessEvent = { event?: { start?: { pid: number }; data?: { stdout?: string; stderr?: string }; end?: { exitCode?: number; exited?: boolean; status?: string; error?: string }; keepalive?: object } };
const b64 = (s: string | undefined): string => Buffer.from(s ?? '', 'base64').toString('utf8');

/** What `CommandHandle` collects from a Start/Connect stream: pid, stdout, stderr, the end event. */
function collect(messages: unknown[]): { pid: number | undefined; stdout: string; stderr: string; end: NonNullable<ProcessEvent['event']>['end'] } {
  let pid: number | undefined;
  let stdout = '';
  let stderr = '';
  let end: NonNullable<ProcessEvent['event']>['end'];
  for (const m of messages as ProcessEvent[]) {
    if (m.event?.start) pid = m.event.start.pid;
    if (m.event?.data) {
      stdout += b64(m.event.data.stdout);
      stderr += b64(m.event.data.stderr);
    }
    if (m.event?.end) end = m.event.end;
  }
  return { pid, stdout, stderr, end };
}

describe('Python SDK: envd (sandbox_sync/commands, sandbox_sync/filesystem, connect-python)', () => {
  let sbx: Created;
  const REQUEST_TIMEOUT_MS = 60_000;
  /** A unary call with the SDK's request timeout; every answer, success or error, is `application/json`. */
  const rpc = async (method: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await pyUnary(sbx.rpc, method, body, { timeoutMs: REQUEST_TIMEOUT_MS, headers });
    assert.ok(unaryContentTypeOk(res), `${method}: content-type ${res.contentType} (${res.status} ${res.text.slice(0, 200)})`);
    if (res.status !== 200) assert.equal(typeof (res.json as { code?: unknown }).code, 'string', `${method}: a Connect error has a string code: ${res.text}`);
    return res;
  };

  before(async () => {
    sbx = await pyCreate('code-interpreter-v1', runMeta('envd'));
  });
  after(async () => {
    if (sbx) await pyRest('DELETE', `/sandboxes/${sbx.id}`).catch(() => undefined);
  });

  test('/health (is_running) and /envs with the sandbox headers', 60_000, async () => {
    const health = await rawFetch(`${stack.sandboxUrl}/health`, { headers: sbx.rpc.sandboxHeaders });
    assert.ok(health.status >= 200 && health.status < 300, `is_running needs a 2xx: ${health.status} ${health.text}`);
    const envs = await rawFetch(`${stack.sandboxUrl}/envs`, { headers: sbx.rpc.sandboxHeaders });
    assert.equal(envs.status, 200, envs.text);
    assert.equal(fromDict({ name: 'envs', required: {} }, envs.json), undefined);
  });

  test('commands.run: Start stream with Keepalive-Ping-Interval and Connect-Timeout-Ms, exit code, users', 120_000, async () => {
    const start = (cmd: string, user?: string, timeoutMs = 60_000, envs: Record<string, string> = {}) =>
      pyServerStream(sbx.rpc, 'process.Process/Start', { process: { cmd: '/bin/bash', args: ['-l', '-c', cmd], ...(Object.keys(envs).length ? { envs } : {}) }, stdin: false }, {
        timeoutMs,
        headers: { ...pyAuthHeader(user), 'Keepalive-Ping-Interval': '50' },
      });
    const res = await start('echo "out:$PY_VAR"; echo err >&2; whoami; exit 3', undefined, 60_000, { PY_VAR: 'v' });
    assert.equal(res.status, 200);
    assert.ok(streamContentTypeOk(res), res.contentType);
    assert.equal(res.end?.error, undefined, JSON.stringify(res.end));
    const run = collect(res.messages);
    assert.ok(typeof run.pid === 'number' && run.pid > 0, 'the first event is start{pid} (extract_start_pid)');
    assert.ok((res.messages[0] as ProcessEvent).event?.start, 'start comes first');
    assert.equal(run.stdout, 'out:v\nuser\n');
    assert.equal(run.stderr, 'err\n');
    assert.equal(run.end?.exitCode, 3);
    assert.equal(run.end?.exited, true);

    const asRoot = collect((await start('whoami', 'root')).messages);
    assert.equal(asRoot.stdout, 'root\n');
    assert.equal(asRoot.end?.exitCode ?? 0, 0);

    // run(timeout=1): the stream's deadline ends it with deadline_exceeded (TimeoutException).
    const timedOut = await start('sleep 20', undefined, 1_000);
    assert.equal(timedOut.status, 200);
    assert.equal(timedOut.end?.error?.code, 'deadline_exceeded', JSON.stringify(timedOut.end));
  });

  test('commands: background start, list, send_stdin, close_stdin, connect, kill (unary calls with Connect-Timeout-Ms)', 120_000, async () => {
    const abort = new AbortController();
    const events = pyOpenStream(sbx.rpc, 'process.Process/Start', { process: { cmd: '/bin/bash', args: ['-l', '-c', 'cat'] }, stdin: true }, {
      timeoutMs: 60_000,
      headers: { 'Keepalive-Ping-Interval': '50' },
      signal: abort.signal,
    });
    try {
      const first = (await withTimeout(events.next(), CALL_MS, 'start event')).value as { message: ProcessEvent };
      const pid = first.message.event?.start?.pid;
      assert.ok(pid, JSON.stringify(first));

      const list = await rpc('process.Process/List', {});
      assert.equal(list.status, 200, list.text);
      assert.ok(unaryContentTypeOk(list), list.contentType);
      const procs = (list.json as { processes: Array<{ pid: number; config: { cmd: string; args: string[] } }> }).processes;
      assert.ok(procs.some((p) => p.pid === pid && p.config.cmd === '/bin/bash'), list.text);

      const input = await rpc('process.Process/SendInput', { process: { pid }, input: { stdin: Buffer.from('from python\n').toString('base64') } });
      assert.equal(input.status, 200, input.text);
      assert.deepEqual(input.json, {});
      let echoed = '';
      while (!echoed.includes('from python')) {
        const next = await withTimeout(events.next(), CALL_MS, 'stdout event');
        assert.ok(!next.done);
        echoed += b64((next.value.message as ProcessEvent).event?.data?.stdout);
      }

      // `connect(pid)` from elsewhere: a second stream on the same process.
      const other = pyOpenStream(sbx.rpc, 'process.Process/Connect', { process: { pid } }, { timeoutMs: 60_000, headers: { 'Keepalive-Ping-Interval': '50' }, signal: abort.signal });
      const connected = (await withTimeout(other.next(), CALL_MS, 'connect start event')).value as { message: ProcessEvent };
      assert.equal(connected.message.event?.start?.pid, pid);

      assert.equal((await rpc('process.Process/CloseStdin', { process: { pid } })).status, 200);
      let end: NonNullable<ProcessEvent['event']>['end'];
      for await (const item of events) {
        if (item.end) {
          assert.equal((item.message as { error?: unknown }).error, undefined, JSON.stringify(item.message));
          break;
        }
        end = (item.message as ProcessEvent).event?.end ?? end;
      }
      assert.equal(end?.exitCode ?? 0, 0, 'cat ends on EOF');

      // `kill(pid)` of a process that is gone: NOT_FOUND → False.
      const kill = await rpc('process.Process/SendSignal', { process: { pid }, signal: 'SIGNAL_SIGKILL' });
      assert.equal(kill.status, 404, kill.text);
      assert.ok(unaryContentTypeOk(kill), kill.contentType);
      assert.equal((kill.json as { code: string }).code, 'not_found', kill.text);
    } finally {
      abort.abort();
    }
  });

  test('pty.create / send_stdin / resize / kill: Start with pty, SendInput pty bytes, Update', 120_000, async () => {
    const abort = new AbortController();
    const envs = { TERM: 'xterm-256color', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
    const events = pyOpenStream(sbx.rpc, 'process.Process/Start', { process: { cmd: '/bin/bash', args: ['-i', '-l'], envs }, pty: { size: { cols: 80, rows: 24 } } }, {
      timeoutMs: 60_000,
      headers: { 'Keepalive-Ping-Interval': '50' },
      signal: abort.signal,
    });
    try {
      const pid = ((await withTimeout(events.next(), CALL_MS, 'pty start')).value as { message: ProcessEvent }).message.event?.start?.pid;
      assert.ok(pid);
      const resized = await rpc('process.Process/Update', { process: { pid }, pty: { size: { cols: 120, rows: 40 } } });
      assert.equal(resized.status, 200, resized.text);
      const input = await rpc('process.Process/SendInput', { process: { pid }, input: { pty: Buffer.from('stty size; exit\n').toString('base64') } });
      assert.equal(input.status, 200, input.text);
      let out = '';
      for await (const item of events) {
        if (item.end) break;
        const pty = (item.message as { event?: { data?: { pty?: string } } }).event?.data?.pty;
        out += b64(pty);
      }
      assert.match(out, /40 120/, 'the resized PTY');
    } finally {
      abort.abort();
    }
  });

  test('watch_dir (async SDK): WatchDir stream opens with a start event, then filesystem events', 120_000, async () => {
    const dir = `/home/user/pywatch-${RUN_ID}`;
    assert.equal((await rpc('filesystem.Filesystem/MakeDir', { path: dir })).status, 200);
    const abort = new AbortController();
    const events = pyOpenStream(sbx.rpc, 'filesystem.Filesystem/WatchDir', { path: dir }, { timeoutMs: 60_000, headers: { 'Keepalive-Ping-Interval': '50' }, signal: abort.signal });
    try {
      const first = (await withTimeout(events.next(), CALL_MS, 'watch start')).value as { message: { start?: object } };
      assert.ok(first.message.start, `the first event is start: ${JSON.stringify(first.message)}`);
      const form = httpxMultipart([{ filename: `${dir}/w.txt`, data: 'w' }]);
      const up = await rawFetch(`${stack.sandboxUrl}/files${httpxQuery({ path: `${dir}/w.txt` })}`, { method: 'POST', headers: { ...sbx.rpc.sandboxHeaders, 'Content-Type': form.contentType }, body: form.body });
      assert.equal(up.status, 200, up.text);
      for (;;) {
        const next = await withTimeout(events.next(), CALL_MS, 'watch event');
        assert.ok(!next.done && !next.value.end, 'the watch stays open');
        const fs = (next.value.message as { filesystem?: { name: string; type: string } }).filesystem;
        if (fs?.name === 'w.txt') break;
      }
    } finally {
      abort.abort();
    }
  });

  test('files.*: stat, list, make_dir, rename, remove, exists, watch (RPC with Basic user header)', 120_000, async () => {
    const dir = `/home/user/py-${RUN_ID}`;
    const user = pyAuthHeader('user');
    const made = await rpc('filesystem.Filesystem/MakeDir', { path: dir }, user);
    assert.equal(made.status, 200, made.text);
    const again = await rpc('filesystem.Filesystem/MakeDir', { path: dir }, user);
    assert.equal(again.status, 409, again.text);
    assert.equal((again.json as { code: string }).code, 'already_exists', 'make_dir → False on ALREADY_EXISTS');

    const watcher = await rpc('filesystem.Filesystem/CreateWatcher', { path: dir }, { ...user, 'Keepalive-Ping-Interval': '50' });
    assert.equal(watcher.status, 200, watcher.text);
    const watcherId = (watcher.json as { watcherId: string }).watcherId;
    assert.equal(typeof watcherId, 'string');

    const { body, contentType } = httpxMultipart([{ filename: `${dir}/a.txt`, data: 'hello python' }]);
    const up = await rawFetch(`${stack.sandboxUrl}/files${httpxQuery({ path: `${dir}/a.txt` })}`, { method: 'POST', headers: { ...sbx.rpc.sandboxHeaders, 'Content-Type': contentType }, body });
    assert.equal(up.status, 200, up.text);

    const stat = await rpc('filesystem.Filesystem/Stat', { path: `${dir}/a.txt` }, user);
    assert.equal(stat.status, 200, stat.text);
    assert.equal(fromDict(EntryInfoModel, (stat.json as { entry: unknown }).entry), undefined, stat.text);
    assert.equal((stat.json as { entry: { size: string } }).entry.size, '12');
    const listed = await rpc('filesystem.Filesystem/ListDir', { path: dir, depth: 1 }, user);
    assert.equal(listed.status, 200, listed.text);
    assert.equal(listOf(EntryInfoModel, (listed.json as { entries: unknown }).entries), undefined, listed.text);
    const moved = await rpc('filesystem.Filesystem/Move', { source: `${dir}/a.txt`, destination: `${dir}/b.txt` }, user);
    assert.equal(moved.status, 200, moved.text);
    assert.equal((moved.json as { entry: { path: string } }).entry.path, `${dir}/b.txt`);

    const events = await rpc('filesystem.Filesystem/GetWatcherEvents', { watcherId }, user);
    assert.equal(events.status, 200, events.text);
    const types = ((events.json as { events?: Array<{ type: string; name: string }> }).events ?? []).map((e) => e.type);
    assert.ok(types.includes('EVENT_TYPE_CREATE') && types.includes('EVENT_TYPE_RENAME'), events.text);
    assert.equal((await rpc('filesystem.Filesystem/RemoveWatcher', { watcherId }, user)).status, 200);

    assert.equal((await rpc('filesystem.Filesystem/Remove', { path: `${dir}/b.txt` }, user)).status, 200);
    const gone = await rpc('filesystem.Filesystem/Stat', { path: `${dir}/b.txt` }, user);
    assert.equal(gone.status, 404, gone.text);
    assert.equal((gone.json as { code: string }).code, 'not_found', 'exists → False on NOT_FOUND');
  });

  test('/files: multipart (one and several files), octet-stream, gzip, metadata, username, download, 404', 120_000, async () => {
    const dir = `/home/user/pyfiles-${RUN_ID}`;
    const headers = sbx.rpc.sandboxHeaders;
    const post = (query: string, init: { headers: Record<string, string>; body: Buffer }) =>
      rawFetch(`${stack.sandboxUrl}/files${query}`, { method: 'POST', headers: { ...headers, ...init.headers }, body: init.body });

    // write(path, str): multipart, `path` in the query, the part's filename the same path.
    const one = httpxMultipart([{ filename: `${dir}/one.txt`, data: 'one' }]);
    const r1 = await post(httpxQuery({ path: `${dir}/one.txt` }), { headers: { 'Content-Type': one.contentType }, body: one.body });
    assert.equal(r1.status, 200, r1.text);
    assert.equal(listOf(WriteInfoModel, r1.json), undefined, r1.text);
    assert.deepEqual((r1.json as Array<{ path: string }>).map((e) => e.path), [`${dir}/one.txt`]);

    // write_files([...]): no `path` in the query, one part per file named by its path.
    const many = httpxMultipart([
      { filename: `${dir}/m/x.txt`, data: 'x' },
      { filename: `${dir}/m/y.bin`, data: Buffer.from([0, 1, 2, 255]) },
    ]);
    const r2 = await post('', { headers: { 'Content-Type': many.contentType }, body: many.body });
    assert.equal(r2.status, 200, r2.text);
    assert.equal(listOf(WriteInfoModel, r2.json), undefined, r2.text);
    assert.deepEqual((r2.json as Array<{ path: string }>).map((e) => e.path).sort(), [`${dir}/m/x.txt`, `${dir}/m/y.bin`]);

    // write(path, file_like) / gzip=True / metadata=: octet-stream with X-Metadata-* headers.
    const r3 = await post(httpxQuery({ path: `${dir}/plain.bin` }), { headers: { 'Content-Type': 'application/octet-stream' }, body: Buffer.from('plain') });
    assert.equal(r3.status, 200, r3.text);
    assert.equal(listOf(WriteInfoModel, r3.json), undefined, r3.text);
    // metadata= (X-Metadata-*): gVisor's rootfs refuses user xattrs, so the agent keeps them (by
    // inode, docs/compatibility.md) and answers them back in the write info.
    const r3m = await post(httpxQuery({ path: `${dir}/meta.txt` }), { headers: { 'Content-Type': 'application/octet-stream', 'X-Metadata-Owner': 'py' }, body: Buffer.from('meta') });
    assert.equal(r3m.status, 200, r3m.text);
    assert.equal(listOf(WriteInfoModel, r3m.json), undefined, r3m.text);
    assert.deepEqual((r3m.json as Array<{ metadata?: unknown }>)[0]?.metadata, { owner: 'py' });
    const r4 = await post(httpxQuery({ path: `${dir}/gz.txt` }), { headers: { 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'gzip' }, body: gzipSync('zipped') });
    assert.equal(r4.status, 200, r4.text);

    // user="root": the `username` query parameter.
    const asRoot = httpxMultipart([{ filename: '/root/py-root.txt', data: 'root' }]);
    const r5 = await post(httpxQuery({ path: '/root/py-root.txt', username: 'root' }), { headers: { 'Content-Type': asRoot.contentType }, body: asRoot.body });
    assert.equal(r5.status, 200, r5.text);

    // read(path) and read(path, gzip=True).
    const read = await rawFetch(`${stack.sandboxUrl}/files${httpxQuery({ path: `${dir}/gz.txt` })}`, { headers: { ...headers, 'Accept-Encoding': 'gzip' } });
    assert.equal(read.status, 200, read.text);
    assert.equal(read.text, 'zipped');
    const rootRead = await rawFetch(`${stack.sandboxUrl}/files${httpxQuery({ path: '/root/py-root.txt', username: 'root' })}`, { headers });
    assert.equal(rootRead.text, 'root');
    // A missing file: 404 with a JSON `message` (get_message) → FileNotFoundException.
    const missing = await rawFetch(`${stack.sandboxUrl}/files${httpxQuery({ path: `${dir}/nope` })}`, { headers });
    assert.equal(missing.status, 404, missing.text);
    assert.equal(typeof (missing.json as { message?: unknown }).message, 'string', missing.text);
  });

  test('download_url / upload_url: signed URLs on the sandbox URL, urlencode(quote_via=quote)', 120_000, async () => {
    assert.ok(sbx.token);
    const path = `/home/user/signed ${RUN_ID}/a+b.txt`;
    const expiration = Math.floor(Date.now() / 1000) + 120;
    const uploadUrl = pyFileUrl(stack.sandboxUrl, { path, signature: pySignature(path, 'write', undefined, sbx.token, expiration), signature_expiration: String(expiration) });
    // What a user does with upload_url: POST multipart/form-data, no SDK headers at all.
    const form = httpxMultipart([{ filename: 'a+b.txt', data: 'signed' }]);
    const up = await rawFetch(uploadUrl, { method: 'POST', headers: { 'Content-Type': form.contentType }, body: form.body });
    assert.equal(up.status, 200, up.text);
    assert.deepEqual((up.json as Array<{ path: string }>).map((e) => e.path), [path]);
    const downloadUrl = pyFileUrl(stack.sandboxUrl, { path, signature: pySignature(path, 'read', undefined, sbx.token) });
    const down = await rawFetch(downloadUrl);
    assert.equal(down.status, 200, down.text);
    assert.equal(down.text, 'signed');
    const forged = await rawFetch(pyFileUrl(stack.sandboxUrl, { path, signature: pySignature(path, 'read', undefined, 'not-the-token') }));
    // No sandbox is named by a URL on the sandbox URL, so a signature matching none is a 502 (E2B's envd: 401).
    assert.equal(forged.status, 502, forged.text);
  });
});

describe('Python code interpreter (e2b_code_interpreter/code_interpreter_sync.py)', () => {
  let sbx: Created;
  /** `_jupyter_url` is the sandbox URL; the port goes in E2b-Sandbox-Port. No X-Access-Token except on /execute. */
  const ciHeaders = (withToken: boolean): Record<string, string> => ({
    'Content-Type': 'application/json',
    'E2b-Sandbox-Id': sbx.id,
    'E2b-Sandbox-Port': String(CODE_INTERPRETER_PORT),
    ...(withToken && sbx.token ? { 'X-Access-Token': sbx.token } : {}),
  });
  const execute = async (body: Record<string, unknown>): Promise<{ status: number; lines: string[]; text: string }> => {
    const res = await step(`POST /execute ${JSON.stringify(body).slice(0, 80)}`, rawFetch(`${stack.sandboxUrl}/execute`, { method: 'POST', headers: ciHeaders(true), body: JSON.stringify(body) }, 240_000));
    return { status: res.status, text: res.text, lines: res.text.split('\n').slice(0, -1) };
  };

  before(async () => {
    sbx = await pyCreate('code-interpreter-v1', runMeta('code-interpreter'));
  });
  after(async () => {
    if (sbx) await pyRest('DELETE', `/sandboxes/${sbx.id}`).catch(() => undefined);
  });

  test('run_code: /execute with context_id/language/env_vars null, every line parses, results and errors', 600_000, async () => {
    const res = await execute({ code: 'import os\nprint("hi")\nx = 41\nx + 1', context_id: null, language: null, env_vars: null });
    assert.equal(res.status, 200, res.text);
    for (const line of res.lines) assert.equal(executionLine(line), undefined, line);
    const parsed = res.lines.map((l) => JSON.parse(l) as { type: string; text?: string; is_main_result?: boolean });
    assert.ok(parsed.some((l) => l.type === 'stdout' && l.text === 'hi\n'), res.text);
    assert.ok(parsed.some((l) => l.type === 'result' && l.text === '42' && l.is_main_result === true), res.text);

    const withEnv = await execute({ code: 'import os\nos.environ["PY_CI"]', context_id: null, language: 'python', env_vars: { PY_CI: 'yes' } });
    assert.equal(withEnv.status, 200, withEnv.text);
    assert.ok(withEnv.lines.some((l) => (JSON.parse(l) as { text?: string }).text === 'yes'), withEnv.text);

    const failed = await execute({ code: '1/0', context_id: null, language: null, env_vars: null });
    for (const line of failed.lines) assert.equal(executionLine(line), undefined, line);
    const error = failed.lines.map((l) => JSON.parse(l) as { type: string; name?: string }).find((l) => l.type === 'error');
    assert.equal(error?.name, 'ZeroDivisionError', failed.text);
  });

  test('contexts: create ({} and language/cwd), list, run in one, restart, remove; no X-Access-Token', 600_000, async () => {
    const create = async (data: Record<string, string>) => step(`POST /contexts ${JSON.stringify(data)}`, rawFetch(`${stack.sandboxUrl}/contexts`, { method: 'POST', headers: ciHeaders(false), body: JSON.stringify(data) }, 120_000));
    const plain = await create({});
    assert.equal(plain.status, 200, plain.text);
    assert.equal(fromDict(ContextModel, plain.json), undefined, plain.text);
    // Removed at once: every context is a kernel, and the sandbox's memory is shared by them all.
    const plainId = (plain.json as { id: string }).id;
    const dropped = await step('DELETE /contexts/{id} ({})', rawFetch(`${stack.sandboxUrl}/contexts/${plainId}`, { method: 'DELETE', headers: ciHeaders(false) }));
    assert.ok(dropped.status >= 200 && dropped.status < 300, `${dropped.status} ${dropped.text}`);
    const js = await create({ language: 'javascript', cwd: '/tmp' });
    assert.equal(js.status, 200, js.text);
    assert.equal(fromDict(ContextModel, js.json), undefined, js.text);
    const ctx = js.json as { id: string; language: string; cwd: string };
    assert.equal(ctx.cwd, '/tmp');

    const list = await step('GET /contexts', rawFetch(`${stack.sandboxUrl}/contexts`, { headers: ciHeaders(false) }));
    assert.equal(list.status, 200, list.text);
    assert.equal(listOf(ContextModel, list.json), undefined, list.text);
    assert.ok((list.json as Array<{ id: string }>).some((c) => c.id === ctx.id));

    const ran = await execute({ code: 'process.cwd()', context_id: ctx.id, language: null, env_vars: null });
    assert.equal(ran.status, 200, ran.text);
    assert.ok(ran.lines.some((l) => (JSON.parse(l) as { text?: string }).text?.replace(/'/g, '') === '/tmp'), ran.text);

    const restart = await step('POST /contexts/{id}/restart', rawFetch(`${stack.sandboxUrl}/contexts/${ctx.id}/restart`, { method: 'POST', headers: ciHeaders(false) }, 120_000));
    assert.ok(restart.status >= 200 && restart.status < 300, `${restart.status} ${restart.text}`);
    const removed = await step('DELETE /contexts/{id}', rawFetch(`${stack.sandboxUrl}/contexts/${ctx.id}`, { method: 'DELETE', headers: ciHeaders(false) }));
    assert.ok(removed.status >= 200 && removed.status < 300, `${removed.status} ${removed.text}`);
    const twice = await step('DELETE /contexts/{id} again', rawFetch(`${stack.sandboxUrl}/contexts/${ctx.id}`, { method: 'DELETE', headers: ciHeaders(false) }));
    assert.equal(twice.status, 404, 'NotFoundException');
    const unknown = await execute({ code: '1', context_id: ctx.id, language: null, env_vars: null });
    assert.equal(unknown.status, 404, unknown.text);
  });
});
