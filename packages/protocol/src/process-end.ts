import { fromBinary } from '@bufbuild/protobuf';
import { StartResponseSchema } from './gen/process/process_pb.js';

/** The end of a process as a `Start`/`Connect` stream reports it. */
export interface ProcessEnd {
  exitCode: number;
  /** false: ended by a signal. */
  exited: boolean;
  status: string;
}

interface JsonEnd {
  event?: { end?: { exitCode?: number; exited?: boolean; status?: string } };
}

/**
 * The end event in one message of a process stream (`process.StartResponse`, Connect's JSON or
 * binary encoding), or undefined when the message is another event or does not parse.
 */
export function processEndOf(payload: Uint8Array, format: 'json' | 'proto'): ProcessEnd | undefined {
  try {
    if (format === 'json') {
      const end = (JSON.parse(new TextDecoder().decode(payload)) as JsonEnd | null)?.event?.end;
      if (end === undefined || end === null) return undefined;
      return { exitCode: Number(end.exitCode ?? 0), exited: end.exited === true, status: String(end.status ?? '') };
    }
    const event = fromBinary(StartResponseSchema, payload).event?.event;
    if (event?.case !== 'end') return undefined;
    return { exitCode: event.value.exitCode, exited: event.value.exited, status: event.value.status };
  } catch {
    return undefined;
  }
}
