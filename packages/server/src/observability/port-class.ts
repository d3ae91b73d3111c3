import { CODE_INTERPRETER_PORT, ENVD_PORT } from '@sandboxd/protocol';

/** The only detail proxy metrics carry about a port, so their label set stays bounded. */
export type PortClass = 'envd' | 'code_interpreter' | 'user' | 'none';

/** `none`: the request named no valid sandbox port (answered by the proxy itself). */
export function portClass(port: number | undefined): PortClass {
  if (port === undefined) return 'none';
  if (port === ENVD_PORT) return 'envd';
  if (port === CODE_INTERPRETER_PORT) return 'code_interpreter';
  return 'user';
}
