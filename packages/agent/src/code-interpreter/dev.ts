/**
 * Development entry: runs the code-interpreter API alone.
 * `node dist/code-interpreter/dev.js [port]`; env SANDBOXD_ENV_VARS (JSON), SANDBOXD_ACCESS_TOKEN.
 */
import { CODE_INTERPRETER_PORT } from '@sandboxd/protocol';
import { startCodeInterpreter } from './index.js';

const port = Number(process.argv[2] ?? CODE_INTERPRETER_PORT);
const startedAt = performance.now();
const server = await startCodeInterpreter({
  host: '0.0.0.0',
  port,
  config: {
    sandboxId: 'dev',
    templateId: 'dev',
    bootKernels: true,
    accessToken: process.env.SANDBOXD_ACCESS_TOKEN ?? null,
    envVars: JSON.parse(process.env.SANDBOXD_ENV_VARS ?? '{}') as Record<string, string>,
    defaultUser: process.env.SANDBOXD_USER ?? 'user',
  },
});
console.error(`code interpreter listening on :${port} after ${Math.round(performance.now() - startedAt)} ms`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(() => console.error('closed'));
  });
}
