import { Code, ConnectError } from '@connectrpc/connect';
import { isSandboxdError } from '@sandboxd/protocol';
import type { ErrorCode } from '@sandboxd/protocol';

const CODE_MAP: Record<ErrorCode, Code> = {
  BAD_REQUEST: Code.InvalidArgument,
  UNAUTHENTICATED: Code.Unauthenticated,
  FORBIDDEN: Code.PermissionDenied,
  NOT_FOUND: Code.NotFound,
  SANDBOX_NOT_FOUND: Code.NotFound,
  TEMPLATE_NOT_FOUND: Code.NotFound,
  TEMPLATE_NOT_READY: Code.FailedPrecondition,
  SNAPSHOT_NOT_FOUND: Code.NotFound,
  SNAPSHOT_INCOMPATIBLE: Code.FailedPrecondition,
  API_KEY_NOT_FOUND: Code.NotFound,
  CONFLICT: Code.AlreadyExists,
  SANDBOX_ALREADY_PAUSED: Code.FailedPrecondition,
  SANDBOX_NOT_PAUSED: Code.FailedPrecondition,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  PAYLOAD_TOO_LARGE: Code.ResourceExhausted,
  NOT_IMPLEMENTED: Code.Unimplemented,
  SANDBOX_UNREACHABLE: Code.Unavailable,
  RUNTIME_FAILURE: Code.Internal,
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  INSUFFICIENT_STORAGE: Code.ResourceExhausted,
  TIMEOUT: Code.DeadlineExceeded,
  CANCELED: Code.Canceled,
  INTERNAL: Code.Internal,
  UNKNOWN: Code.Unknown,
};

/** The one translation of agent errors into Connect errors (envd's codes). */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (isSandboxdError(err)) return new ConnectError(err.message, CODE_MAP[err.code], undefined, undefined, err);
  const errno = err as NodeJS.ErrnoException;
  if (errno?.code === 'ENOENT') return new ConnectError(errno.message, Code.NotFound, undefined, undefined, err);
  if (errno?.code === 'ENOSPC') return new ConnectError(errno.message, Code.ResourceExhausted, undefined, undefined, err);
  return ConnectError.from(err, Code.Internal);
}

/** Runs `fn`, translating anything it throws. */
export async function rpc<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toConnectError(err);
  }
}
