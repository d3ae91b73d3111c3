/**
 * The closed registry of sandboxd error codes. Every failure that crosses a boundary carries one.
 * On E2B-compatible routes the body is E2B's `{ code: <status>, message }`; the string code
 * travels alongside as `error_code`.
 */
export const ErrorCode = {
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  SANDBOX_NOT_FOUND: 'SANDBOX_NOT_FOUND',
  TEMPLATE_NOT_FOUND: 'TEMPLATE_NOT_FOUND',
  /** The template's start command failed, or its ready command did not pass, in a new sandbox. */
  TEMPLATE_NOT_READY: 'TEMPLATE_NOT_READY',
  /** No snapshot with that id or name (E2B's snapshots are templates: 404). */
  SNAPSHOT_NOT_FOUND: 'SNAPSHOT_NOT_FOUND',
  /** A snapshot another runsc or agent version wrote: it cannot be restored by this daemon. */
  SNAPSHOT_INCOMPATIBLE: 'SNAPSHOT_INCOMPATIBLE',
  API_KEY_NOT_FOUND: 'API_KEY_NOT_FOUND',
  CONFLICT: 'CONFLICT',
  /** Pause of a sandbox that is already paused (E2B: 409, the SDK's pause() returns false). */
  SANDBOX_ALREADY_PAUSED: 'SANDBOX_ALREADY_PAUSED',
  /** Resume (deprecated route) of a sandbox that is running (E2B: 409). */
  SANDBOX_NOT_PAUSED: 'SANDBOX_NOT_PAUSED',
  FAILED_PRECONDITION: 'FAILED_PRECONDITION',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  NOT_IMPLEMENTED: 'NOT_IMPLEMENTED',
  SANDBOX_UNREACHABLE: 'SANDBOX_UNREACHABLE',
  RUNTIME_FAILURE: 'RUNTIME_FAILURE',
  RESOURCE_EXHAUSTED: 'RESOURCE_EXHAUSTED',
  INSUFFICIENT_STORAGE: 'INSUFFICIENT_STORAGE',
  TIMEOUT: 'TIMEOUT',
  CANCELED: 'CANCELED',
  INTERNAL: 'INTERNAL',
  UNKNOWN: 'UNKNOWN',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** HTTP status for every code; the compiler forces an entry for each new code. */
export const errorStatus: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  SANDBOX_NOT_FOUND: 404,
  TEMPLATE_NOT_FOUND: 404,
  TEMPLATE_NOT_READY: 500,
  SNAPSHOT_NOT_FOUND: 404,
  SNAPSHOT_INCOMPATIBLE: 409,
  API_KEY_NOT_FOUND: 404,
  CONFLICT: 409,
  SANDBOX_ALREADY_PAUSED: 409,
  SANDBOX_NOT_PAUSED: 409,
  FAILED_PRECONDITION: 412,
  PAYLOAD_TOO_LARGE: 413,
  NOT_IMPLEMENTED: 501,
  SANDBOX_UNREACHABLE: 502,
  RUNTIME_FAILURE: 500,
  RESOURCE_EXHAUSTED: 429,
  INSUFFICIENT_STORAGE: 507,
  TIMEOUT: 504,
  CANCELED: 499,
  INTERNAL: 500,
  UNKNOWN: 500,
};

/** What each code means, for whoever meets it (docs/errors.md is generated from this table). */
export const errorMeaning: Record<ErrorCode, string> = {
  BAD_REQUEST: 'The request is malformed or names something invalid; the message names the field or value.',
  UNAUTHENTICATED: 'A missing or wrong API key, access token, signature or user.',
  FORBIDDEN: 'Authenticated, but not allowed (a traffic token, a file permission).',
  NOT_FOUND: 'The route, file, process, context or watcher does not exist.',
  SANDBOX_NOT_FOUND: 'No running sandbox with that id (killed, expired or never created).',
  TEMPLATE_NOT_FOUND: 'No template with that id or alias.',
  TEMPLATE_NOT_READY: "The template's start command exited with an error, or its ready command did not pass, before the new sandbox was ready (the message has the command's last output).",
  SNAPSHOT_NOT_FOUND: 'No snapshot with that id or name (deleted, or never taken).',
  SNAPSHOT_INCOMPATIBLE: 'The snapshot was written by another runsc or agent version; take a new one (the message names both versions).',
  API_KEY_NOT_FOUND: 'No active API key with that id (`/keys/{id}`; revoked keys stay listed).',
  CONFLICT: 'It exists already (a directory, a sandbox id) or the state does not allow the change.',
  FAILED_PRECONDITION: 'The operation does not fit the current state (input before start, a symlink loop).',
  SANDBOX_ALREADY_PAUSED: 'Pause of a sandbox that is paused already (E2B: 409; the SDK reports false).',
  SANDBOX_NOT_PAUSED: 'Resume (the deprecated route) of a sandbox that is running (E2B: 409).',
  PAYLOAD_TOO_LARGE: 'The request body is over the limit.',
  NOT_IMPLEMENTED: 'A route or variant sandboxd does not implement (an unknown selector, signal or event).',
  SANDBOX_UNREACHABLE: 'The sandbox (or the agent in it) does not answer, or is shutting down.',
  RUNTIME_FAILURE: 'The sandbox runtime (gVisor, network, disk) failed; see the daemon log.',
  RESOURCE_EXHAUSTED: 'A limit is reached (sandboxes, processes, memory, rate).',
  INSUFFICIENT_STORAGE: "The sandbox's disk (or its inodes) is full.",
  TIMEOUT: 'The deadline (timeoutMs, Connect-Timeout-Ms, request timeout) passed first.',
  CANCELED: 'The caller aborted (its signal, a closed connection).',
  INTERNAL: 'A bug or an unexpected failure; see the log.',
  UNKNOWN: "A failure envd reports without a code of its own (kept for the SDKs' sake).",
};

/** Base error of sandboxd: a stable `code`, a message that names what to change, and a cause. */
export class SandboxdError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SandboxdError';
    this.code = code;
    this.details = options?.details;
  }

  get status(): number {
    return errorStatus[this.code];
  }

  /** Normalises anything thrown into a SandboxdError; aborts become CANCELED or TIMEOUT. */
  static from(reason: unknown): SandboxdError {
    if (reason instanceof SandboxdError) return reason;
    if (reason instanceof Error) {
      if (reason.name === 'TimeoutError') return new SandboxdError(ErrorCode.TIMEOUT, reason.message, { cause: reason });
      if (reason.name === 'AbortError') return new SandboxdError(ErrorCode.CANCELED, reason.message, { cause: reason });
      return new SandboxdError(ErrorCode.INTERNAL, reason.message, { cause: reason });
    }
    return new SandboxdError(ErrorCode.INTERNAL, String(reason));
  }
}

const brand = Symbol.for('sandboxd.error');
Object.defineProperty(SandboxdError.prototype, brand, { value: true });

/** True for a SandboxdError from any copy of this package (robust across duplicate installs). */
export function isSandboxdError(value: unknown): value is SandboxdError {
  return typeof value === 'object' && value !== null && (value as { [brand]?: true })[brand] === true;
}

/** Body of an error on E2B-compatible REST routes: what the official SDKs parse. */
export interface E2bErrorBody {
  code: number;
  message: string;
  error_code?: ErrorCode;
}

export function toE2bErrorBody(error: SandboxdError): E2bErrorBody {
  return { code: error.status, message: error.message, error_code: error.code };
}
