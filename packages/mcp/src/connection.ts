import type { ConnectionOpts } from 'e2b';

/** Where the MCP server reaches sandboxd: the daemon's public REST API, as any E2B client does. */
export interface SandboxdConnection {
  /** The daemon's URL (`E2B_API_URL`), e.g. `http://127.0.0.1:3000`. */
  apiUrl: string;
  /** An API key of the daemon (`E2B_API_KEY`). */
  apiKey: string;
  /** Where sandbox traffic goes (`E2B_SANDBOX_URL`); defaults to `apiUrl`, the daemon's one listener. */
  sandboxUrl?: string;
}

/** The official SDKs' connection options for `connection`; explicit, so no `E2B_*` variable overrides it. */
export function sdkOptions(connection: SandboxdConnection): ConnectionOpts {
  return { apiUrl: connection.apiUrl, sandboxUrl: connection.sandboxUrl ?? connection.apiUrl, apiKey: connection.apiKey, debug: false };
}
