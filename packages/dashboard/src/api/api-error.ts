/**
 * A failed call to the daemon, its REST API or a sandbox's envd through the daemon's proxy.
 * `status` is the HTTP status (0: the daemon could not be reached); `code` is the string code the
 * body carries (sandboxd's `error_code` on REST routes, Connect's `code` from envd), when it has one.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string | undefined;

  constructor(status: number, message: string, code?: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** True when the daemon answers that the route or feature does not exist (yet). */
export function isNotAvailable(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 404 || error.status === 405 || error.status === 501);
}

/**
 * Reads a non-2xx response into an ApiError. REST bodies are E2B's `{code: <status>, message}`
 * (plus `error_code`); Connect bodies are `{code: "not_found", message}`; anything else keeps
 * the status text.
 */
export async function errorFromResponse(res: Response, what: string): Promise<ApiError> {
  let text = '';
  try {
    text = await res.text();
  } catch {
    // the body is gone; the status says enough
  }
  let message = text.trim() || res.statusText || 'no message';
  let code: string | undefined;
  try {
    const body = JSON.parse(text) as unknown;
    if (typeof body === 'object' && body !== null) {
      const fields = body as Record<string, unknown>;
      if (typeof fields['message'] === 'string') message = fields['message'];
      if (typeof fields['error_code'] === 'string') code = fields['error_code'];
      else if (typeof fields['code'] === 'string') code = fields['code'];
    }
  } catch {
    // not JSON: the text is the message
  }
  return new ApiError(res.status, `${what}: ${res.status} ${message}`, code);
}
