import { CODE_INTERPRETER_PORT, ENVD_PORT } from '@sandboxd/protocol';

/**
 * What a proxied request starts: a code execution (a code-interpreter `POST /execute`), a command
 * (an envd `process.Process/Start`; Connect sends server streams as POST), or neither.
 */
export function activityOf(method: string | undefined, port: number, url: string | undefined): 'execution' | 'command' | undefined {
  if (method !== 'POST') return undefined;
  const path = (url ?? '').split('?')[0];
  if (port === CODE_INTERPRETER_PORT && path === '/execute') return 'execution';
  if (port === ENVD_PORT && path === '/process.Process/Start') return 'command';
  return undefined;
}

