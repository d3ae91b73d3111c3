import { ErrorCode, errorMeaning, errorStatus } from './errors.js';

/** docs/errors.md, rendered from the registry (a test keeps the file equal to this). */
export function renderErrorsDoc(): string {
  const rows = Object.values(ErrorCode).map((code) => `| \`${code}\` | ${errorStatus[code]} | ${errorMeaning[code]} |`);
  return [
    '# Error codes',
    '',
    '<!-- Generated from packages/protocol/src/errors.ts by `npm run gen:errors-doc`; errors-doc.test.ts fails when it differs. -->',
    '',
    'Every failure that crosses a boundary is a `SandboxdError` with one of these codes. Each protocol',
    'has exactly one module that turns it into its wire form:',
    '',
    "- E2B REST routes of the daemon: `{code: <status>, message, error_code}` (`packages/server/src/api/rest/http.ts`);",
    '  bodies the proxy and the daemon build outside the app: `packages/server/src/util/e2b-error-bodies.ts`.',
    "- envd's Connect services: a Connect error with the code below mapped to Connect's (`packages/agent/src/envd/rpc/errors.ts`).",
    "- envd's plain-HTTP routes (`/files`, `/envs`, ...): `{code: <status>, message}` (`packages/agent/src/envd/http-errors.ts`).",
    "- The code interpreter: the message as plain text with the status (`packages/agent/src/code-interpreter/http-errors.ts`).",
    '',
    'Messages the SDKs parse are envd\'s exact ones.',
    '',
    '| code | HTTP status | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
