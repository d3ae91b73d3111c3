import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { it } from 'node:test';
import { CommandExitError, Sandbox, type CommandResult, type CommandStartOpts, type SandboxOpts } from 'e2b';
import { withTimeout, type Stack } from './stack.js';

/** Bound of one sandbox creation (cold gVisor boot included). */
export const CREATE_MS = 180_000;
/** Bound of one ordinary SDK call or HTTP request. */
export const CALL_MS = 60_000;

/** Unique per test process, put in metadata so list filters only see this run's sandboxes. */
export const RUN_ID = randomBytes(6).toString('hex');

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Last `lines` lines of the daemon log, for failure reports. */
export function logTail(stack: Stack | undefined, lines = 60): string {
  if (!stack) return '(no daemon)';
  try {
    return stack.log().split('\n').slice(-lines).join('\n');
  } catch (err) {
    return `(daemon log unreadable: ${String(err)})`;
  }
}

/**
 * `it` that dumps the tail of the daemon log when the test fails. `timeoutMs` is the test's hard
 * bound; every wait inside should also carry its own `withTimeout`.
 */
export function e2eTest(getStack: () => Stack | undefined) {
  return (name: string, timeoutMs: number, fn: () => Promise<void>): void => {
    it(name, { timeout: timeoutMs }, async () => {
      try {
        await fn();
      } catch (err) {
        console.error(`[e2e] "${name}" failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
        if (err instanceof CommandExitError) {
          console.error(`[e2e] command exit ${err.exitCode}; stdout: ${JSON.stringify(err.stdout.slice(-1000))}; stderr: ${JSON.stringify(err.stderr.slice(-1000))}`);
        }
        console.error(`[e2e] daemon log tail:\n${logTail(getStack())}`);
        throw err;
      }
    });
  };
}

/** Creates a core (`e2b`) sandbox on the stack, bounded. */
export function createSandbox(stack: Stack, opts: SandboxOpts = {}): Promise<Sandbox> {
  return withTimeout(Sandbox.create({ ...stack.sdk, ...opts }), CREATE_MS, 'Sandbox.create');
}

interface Killable {
  sandboxId: string;
  kill(): Promise<boolean>;
}

/**
 * Creates a sandbox with `create`, runs `fn` with it and kills it afterwards whatever happens;
 * on failure it names the sandbox.
 */
export async function withSandbox<S extends Killable, T>(create: () => Promise<S>, fn: (sandbox: S) => Promise<T>): Promise<T> {
  const sandbox = await withTimeout(create(), CREATE_MS, 'sandbox creation');
  try {
    return await fn(sandbox);
  } catch (err) {
    console.error(`[e2e] failure in sandbox ${sandbox.sandboxId}`);
    throw err;
  } finally {
    await withTimeout(sandbox.kill(), CALL_MS, `kill ${sandbox.sandboxId}`).catch((err: unknown) => {
      console.error(`[e2e] could not kill sandbox ${sandbox.sandboxId}: ${String(err)}`);
    });
  }
}

/** Runs a foreground command, bounded. */
export function run(sandbox: Sandbox, cmd: string, opts: Omit<CommandStartOpts, 'background'> = {}, ms = CALL_MS): Promise<CommandResult> {
  return withTimeout(sandbox.commands.run(cmd, { ...opts, background: false }), ms, `command ${JSON.stringify(cmd)}`);
}

/** Polls `check` until it returns a truthy value; rejects after `ms`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false | null>, ms: number, label: string, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`${label}: not true within ${ms} ms${lastError === undefined ? '' : ` (last error: ${String(lastError)})`}`);
}

/** Asserts that `promise` rejects within `ms` and returns the rejection. */
export async function rejection(promise: Promise<unknown>, ms: number, label: string): Promise<unknown> {
  const outcome = await withTimeout(
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    ms,
    label,
  );
  if (outcome.ok) assert.fail(`${label}: expected a rejection, got ${JSON.stringify(outcome.value)?.slice(0, 500)}`);
  return outcome.error;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  json: unknown;
}

/** Plain `fetch`, bounded, body read as text (and JSON when it parses). */
export async function rawFetch(url: string, init: RequestInit = {}, ms = CALL_MS): Promise<RawResponse> {
  const res = await withTimeout(fetch(url, { ...init, signal: AbortSignal.timeout(ms) }), ms, `${init.method ?? 'GET'} ${url}`);
  const text = await withTimeout(res.text(), ms, `body of ${url}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** A REST call to the daemon with the stack's API key (or `apiKey`, or none when null). */
export function rest(
  stack: Stack,
  method: string,
  path: string,
  opts: { body?: string; apiKey?: string | null; headers?: Record<string, string>; ms?: number } = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = { ...opts.headers };
  const key = opts.apiKey === undefined ? stack.apiKey : opts.apiKey;
  if (key !== null) headers['X-API-KEY'] = key;
  if (opts.body !== undefined) headers['Content-Type'] ??= 'application/json';
  return rawFetch(`${stack.apiUrl}${path}`, { method, headers, ...(opts.body === undefined ? {} : { body: opts.body }) }, opts.ms ?? CALL_MS);
}

/** Asserts an E2B error response: the status, and a JSON body `{code: <status>, message: <non-empty string>}`. */
export function assertE2bError(res: RawResponse, status: number): void {
  assert.equal(res.status, status, `expected HTTP ${status}, got ${res.status}: ${res.text.slice(0, 500)}`);
  assert.ok(res.json !== null && typeof res.json === 'object', `error body is not a JSON object: ${res.text.slice(0, 500)}`);
  const body = res.json as { code?: unknown; message?: unknown };
  assert.equal(body.code, status, `error body code: ${res.text.slice(0, 500)}`);
  assert.equal(typeof body.message, 'string', `error body message: ${res.text.slice(0, 500)}`);
  assert.ok((body.message as string).length > 0, 'error message is empty');
}

/** GET through `node:http` with an explicit Host header (fetch cannot override Host). */
export function httpGetWithHost(port: number, path: string, host: string, ms = CALL_MS): Promise<{ status: number; body: string }> {
  return withTimeout(
    new Promise((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path, method: 'GET', headers: { Host: host } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    }),
    ms,
    `GET ${path} with Host ${host}`,
  );
}

/** Reads a whole web stream into one buffer. */
export async function readStream(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The exact bytes of a Buffer as an ArrayBuffer (what the SDK's `write` takes for binary data). */
export function toArrayBuffer(buf: Uint8Array): ArrayBuffer {
  const copy = new Uint8Array(buf.byteLength);
  copy.set(buf);
  return copy.buffer;
}

/** The host pid of a sandbox's gVisor sentry, from runsc's own state (the stack's daemon runs on this host). */
export function sentryPid(stack: Stack, sandboxId: string): number {
  const out = execFileSync('runsc', ['--root', join(stack.home, 'sandboxes', sandboxId, 'runsc'), 'list', '-format', 'json'], { encoding: 'utf8' });
  const pid = (JSON.parse(out) as Array<{ id: string; pid: number }>).find((c) => c.id === sandboxId)?.pid ?? 0;
  assert.ok(pid > 0, `no runsc container for ${sandboxId}`);
  return pid;
}
