import { ErrorCode, SandboxdError, isSandboxdError } from '@sandboxd/protocol';
import { sdkOptions, type SandboxdConnection } from '@sandboxd/mcp';
import { AuthenticationError, FileNotFoundError, InvalidArgumentError, NotFoundError, Sandbox, SandboxError, SandboxNotFoundError, TimeoutError } from 'e2b';

/** The official SDK's options for `connection` (one definition, shared with `sandboxd mcp`). */
export { sdkOptions };

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_SOCKET']);

/** The errno-like code somewhere in `error`'s cause chain (fetch wraps socket errors). */
function networkCode(error: unknown): string | undefined {
  for (let e: unknown = error, depth = 0; e !== null && typeof e === 'object' && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && NETWORK_CODES.has(code)) return code;
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) if (typeof (inner as { code?: unknown })?.code === 'string' && NETWORK_CODES.has((inner as { code: string }).code)) return (inner as { code: string }).code;
  }
  return undefined;
}

const causeMessage = (error: Error): string => (error.cause instanceof Error ? error.cause.message : String(error.cause ?? 'no cause given'));

/**
 * Turns whatever a sandbox command threw (SDK errors, fetch failures) into a SandboxdError whose
 * message says what went wrong and what to do, for `sandboxd: <message>` on stderr.
 * `sandboxId` names the sandbox the command was about, for not-found messages.
 */
export function toCliError(error: unknown, connection: SandboxdConnection, sandboxId?: string): SandboxdError {
  if (isSandboxdError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = networkCode(error) ?? (error instanceof TypeError && message === 'fetch failed' ? causeMessage(error) : undefined);
  if (code !== undefined) {
    return new SandboxdError(ErrorCode.SANDBOX_UNREACHABLE, `cannot reach the sandboxd daemon at ${connection.apiUrl} (${code}): is it running? Start it with \`sandboxd start\`, or set E2B_API_URL`, { cause: error });
  }
  if (error instanceof AuthenticationError || (error instanceof SandboxError && error.statusCode === 401)) {
    return new SandboxdError(ErrorCode.UNAUTHENTICATED, `the daemon at ${connection.apiUrl} refused the API key: set E2B_API_KEY to a key of \`sandboxd keys list\` (${message})`, { cause: error });
  }
  if (error instanceof SandboxNotFoundError || (sandboxId !== undefined && error instanceof NotFoundError && !(error instanceof FileNotFoundError))) {
    return new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, sandboxId === undefined ? message : `no sandbox ${sandboxId} (it never existed, was killed or timed out; see \`sandboxd sandbox list\`)`, { cause: error });
  }
  if (error instanceof FileNotFoundError) return new SandboxdError(ErrorCode.NOT_FOUND, message, { cause: error });
  if (error instanceof InvalidArgumentError) return new SandboxdError(ErrorCode.BAD_REQUEST, message, { cause: error });
  if (error instanceof TimeoutError) return new SandboxdError(ErrorCode.TIMEOUT, message, { cause: error });
  if (error instanceof SandboxError && error.statusCode === 404 && sandboxId !== undefined) {
    return new SandboxdError(ErrorCode.SANDBOX_NOT_FOUND, `no sandbox ${sandboxId} (${message})`, { cause: error });
  }
  return SandboxdError.from(error);
}

/** A handle on a running sandbox (`Sandbox.connect`: extends its timeout only if it would end sooner). */
export async function connectSandbox(connection: SandboxdConnection, sandboxId: string, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<Sandbox> {
  return Sandbox.connect(sandboxId, { ...sdkOptions(connection), ...(options.signal ? { signal: options.signal } : {}), ...(options.timeoutMs ? { requestTimeoutMs: options.timeoutMs } : {}) });
}
