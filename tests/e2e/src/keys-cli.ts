import { execFile } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CALL_MS } from './helpers.js';
import { pinnedNode, withTimeout, type Stack } from './stack.js';

const daemonEntry = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../..'), 'packages/server/dist/main.js');

/** Runs the `sandboxd` CLI against the stack (its home, its API URL, `apiKey` as E2B_API_KEY). */
export function sandboxdCli(stack: Stack, args: string[], apiKey = stack.apiKey): Promise<{ code: number; stdout: string; stderr: string }> {
  return withTimeout(
    new Promise((resolveRun) => {
      execFile(
        pinnedNode,
        [daemonEntry, ...args],
        { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', SANDBOXD_HOME: stack.home, E2B_API_URL: stack.apiUrl, E2B_API_KEY: apiKey }, timeout: CALL_MS },
        (error, stdout, stderr) => resolveRun({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr }),
      );
    }),
    CALL_MS,
    `sandboxd ${args.join(' ')}`,
  );
}

export interface CreatedKey {
  id: string;
  key: string;
  scopes: string[];
  quota: Record<string, number>;
}

/** `sandboxd keys create <name> <flags> --json` against the stack's home. */
export async function createKey(stack: Stack, name: string, flags: string[]): Promise<CreatedKey> {
  const r = await sandboxdCli(stack, ['keys', 'create', name, ...flags, '--json']);
  if (r.code !== 0) throw new Error(`keys create failed (${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout) as CreatedKey;
}
