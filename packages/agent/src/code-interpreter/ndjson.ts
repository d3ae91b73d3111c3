/** NDJSON framing of `/execute`: one JSON object per line, keepalives while the kernel is quiet. */
import type { ExecutionLine } from '@sandboxd/protocol';

export const KEEPALIVE_MS = 5000;

export function frame(line: ExecutionLine): string {
  return `${JSON.stringify(line)}\n`;
}

/**
 * Yields the frames of `lines`, inserting a keepalive frame after every `intervalMs` without a
 * line, so a disconnected client is noticed by the failing write.
 */
export async function* withKeepalive(lines: AsyncIterable<ExecutionLine>, intervalMs = KEEPALIVE_MS): AsyncGenerator<string> {
  const iterator = lines[Symbol.asyncIterator]();
  let pending = iterator.next();
  try {
    for (;;) {
      let timer: NodeJS.Timeout | undefined;
      const tick = new Promise<'tick'>((resolve) => {
        timer = setTimeout(resolve, intervalMs, 'tick');
      });
      const next = await Promise.race([pending, tick]);
      clearTimeout(timer);
      if (next === 'tick') {
        yield frame({ type: 'keepalive' });
        continue;
      }
      if (next.done) return;
      pending = iterator.next();
      yield frame(next.value);
    }
  } finally {
    await iterator.return?.();
  }
}
