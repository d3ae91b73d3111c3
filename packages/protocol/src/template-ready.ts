/**
 * The daemon's readiness route: `GET /template-ready` on the agent's envd port, authenticated like
 * `POST /adopt` (`Authorization: Bearer <AgentConfig.loopbackSecret>`). It tells whether the
 * template's start command is running and its ready command has passed (E2B creates a sandbox of
 * such a template only once it is ready). The agent holds the request up to `waitMs` (query
 * parameter, at most `TemplateReady.maxWaitMs`) for the state to leave `starting`.
 */
export const TemplateReady = {
  path: '/template-ready',
  method: 'GET',
  maxWaitMs: 30_000,
} as const;

/** The agent's answer (200). */
export type TemplateReadyState =
  | { state: 'ready' }
  /** The start command runs, the ready command has not passed yet. */
  | { state: 'starting' }
  /** The start command exited with an error before the ready command passed, or the ready command never passed. */
  | { state: 'failed'; message: string };
