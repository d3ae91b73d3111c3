/**
 * Development entry: runs the code-interpreter API alone.
 * `node dist/code-interpreter/dev.js [port]`; env SANDBOXD_ENV_VARS (JSON), SANDBOXD_ACCESS_TOKEN.
 */
import { CODE_INTERPRETER_PORT, SANDBOX_DEFAULT_PATH, parseAgentConfig } from '@sandboxd/protocol';
import { listen } from '../serve.js';
import { createCodeInterpreter } from './index.js';

const port = Number(process.argv[2] ?? CODE_INTERPRETER_PORT);
const startedAt = performance.now();
const code = await createCodeInterpreter({
  path: process.env.PATH ?? SANDBOX_DEFAULT_PATH,
  lang: process.env.LANG ?? 'C.UTF-8',
  config: parseAgentConfig({
    sandboxId: 'dev',
    templateId: 'dev',
    bootKernels: true,
    accessToken: process.env.SANDBOXD_ACCESS_TOKEN ?? null,
    envVars: JSON.parse(process.env.SANDBOXD_ENV_VARS ?? '{}') as unknown,
    defaultUser: process.env.SANDBOXD_USER ?? 'user',
  }),
});
const server = await listen({ fetch: code.app.fetch, host: '0.0.0.0', port });
console.error(`code interpreter listening on :${port} after ${Math.round(performance.now() - startedAt)} ms`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void Promise.all([code.close(), server.close()]).then(() => console.error('closed'));
  });
}
