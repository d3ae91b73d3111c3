import { CODE_INTERPRETER_PORT, ENVD_PORT } from '@sandboxd/protocol';

/**
 * True for a proxied request that starts an execution: a code-interpreter `POST /execute` or an
 * envd `process.Process/Start` (a command; Connect sends server streams as POST).
 */
export function isExecution(method: string | undefined, port: number, url: string | undefined): boolean {
  if (method !== 'POST') return false;
  const path = (url ?? '').split('?')[0];
  if (port === CODE_INTERPRETER_PORT) return path === '/execute';
  if (port === ENVD_PORT) return path === '/process.Process/Start';
  return false;
}
