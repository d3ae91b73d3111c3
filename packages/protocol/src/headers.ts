/** Header names shared by the daemon's proxy, the agent and the SDK side. Lower-case, as on the wire. */
export const Headers = {
  sandboxId: 'e2b-sandbox-id',
  sandboxPort: 'e2b-sandbox-port',
  accessToken: 'x-access-token',
  apiKey: 'x-api-key',
  trafficAccessToken: 'e2b-traffic-access-token',
  nextToken: 'x-next-token',
  keepalivePingInterval: 'keepalive-ping-interval',
  connectTimeoutMs: 'connect-timeout-ms',
  /** One request's id: the daemon's answer carries it and its proxy passes it to the agent, both log it. */
  requestId: 'x-request-id',
  /** The language of a code-interpreter `/execute` answer (the context's, normalised). */
  executionLanguage: 'x-sandboxd-language',
} as const;
