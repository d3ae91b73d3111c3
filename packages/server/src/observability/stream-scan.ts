import { processEndOf } from '@sandboxd/protocol';
import type { ProcessEnd } from '@sandboxd/protocol';

/** How an execution or a command ended, as its stream showed it. */
export type StreamOutcome = 'ok' | 'error' | 'interrupted';

/** Reads a response body chunk by chunk without keeping it, and says how it ended. */
export interface StreamScanner {
  push(chunk: Buffer): void;
  /** The outcome once the stream is over; `complete`: the body ended cleanly (not cut). */
  outcome(complete: boolean): StreamOutcome;
}

/** Bytes of a line's start kept to read its `type` (`{"type":"end_of_execution"` is 29). */
const LINE_HEAD = 48;
const TYPE = /^\{\s*"type"\s*:\s*"([a-z_]+)"/;

/**
 * The code interpreter's `/execute` NDJSON: `error` lines make it an error, `end_of_execution`
 * ends it; a stream cut before that end (client gone, timeout, sandbox ended) was interrupted.
 * Only the head of each line is kept, however long the line (results carry images).
 */
export function executionScanner(): StreamScanner {
  let head = '';
  let sawError = false;
  let ended = false;
  const lineEnd = (): void => {
    const type = TYPE.exec(head)?.[1];
    if (type === 'error') sawError = true;
    if (type === 'end_of_execution') ended = true;
    head = '';
  };
  return {
    push(chunk) {
      let from = 0;
      for (;;) {
        const nl = chunk.indexOf(10, from);
        const stop = nl === -1 ? chunk.length : nl;
        if (head.length < LINE_HEAD && stop > from) head += chunk.toString('utf8', from, Math.min(stop, from + LINE_HEAD - head.length));
        if (nl === -1) return;
        lineEnd();
        from = nl + 1;
      }
    },
    outcome(complete) {
      if (head !== '') lineEnd();
      if (!complete || !ended) return 'interrupted';
      return sawError ? 'error' : 'ok';
    },
  };
}

/** Connect end-stream flag of an envelope. */
const END_STREAM = 0x02;
/** Messages larger than this are output, never the end event: skipped, not kept. */
const MAX_KEPT = 4096;

/**
 * A Connect server stream of `process.Process/Start` (JSON or binary messages): exit code 0 is
 * ok, another exit code or an RPC error is an error, a signal or a stream cut before the end
 * event (a disconnect) is interrupted. Envelope headers are parsed; only small messages are kept.
 */
export function commandScanner(format: 'json' | 'proto'): StreamScanner {
  const header = Buffer.alloc(5);
  let headerFill = 0;
  let flags = 0;
  let remaining = 0;
  let kept: Buffer[] | undefined;
  let end: ProcessEnd | undefined;
  let rpcError = false;
  const messageDone = (): void => {
    const payload = kept === undefined ? undefined : Buffer.concat(kept);
    kept = undefined;
    if (payload === undefined) return;
    if ((flags & END_STREAM) !== 0) {
      try {
        rpcError = (JSON.parse(payload.toString('utf8')) as { error?: unknown } | null)?.error !== undefined;
      } catch {
        rpcError = true;
      }
      return;
    }
    end = processEndOf(payload, format) ?? end;
  };
  return {
    push(chunk) {
      let at = 0;
      while (at < chunk.length) {
        if (remaining === 0 && headerFill < 5) {
          const n = Math.min(5 - headerFill, chunk.length - at);
          chunk.copy(header, headerFill, at, at + n);
          headerFill += n;
          at += n;
          if (headerFill < 5) return;
          flags = header[0]!;
          remaining = header.readUInt32BE(1);
          kept = remaining <= MAX_KEPT ? [] : undefined;
          if (remaining === 0) {
            if (kept !== undefined) kept.push(Buffer.alloc(0));
            messageDone();
            headerFill = 0;
          }
          continue;
        }
        const n = Math.min(remaining, chunk.length - at);
        kept?.push(chunk.subarray(at, at + n));
        remaining -= n;
        at += n;
        if (remaining === 0) {
          messageDone();
          headerFill = 0;
        }
      }
    },
    outcome() {
      if (rpcError) return 'error';
      if (end === undefined) return 'interrupted';
      if (!end.exited) return 'interrupted';
      return end.exitCode === 0 ? 'ok' : 'error';
    },
  };
}
