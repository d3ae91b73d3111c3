/**
 * Jupyter wire format (messaging spec 5.x, "The Wire Protocol"): multipart frames
 * `[...identities, "<IDS|MSG>", hmac, header, parent_header, metadata, content, ...buffers]`,
 * where `hmac` is the hex HMAC-SHA256 of the four JSON frames under the connection key.
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';

export const DELIMITER = '<IDS|MSG>';
export const PROTOCOL_VERSION = '5.3';

export interface MessageHeader {
  msg_id: string;
  msg_type: string;
  session: string;
  username: string;
  date: string;
  version: string;
}

export interface JupyterMessage<C = Record<string, unknown>> {
  header: MessageHeader;
  parent_header: Partial<MessageHeader>;
  metadata: Record<string, unknown>;
  content: C;
  buffers: Buffer[];
}

/** Signs frames with the connection file's key; an empty key disables signing (spec). */
export function sign(key: string, frames: readonly (Buffer | string)[]): string {
  if (key === '') return '';
  const hmac = createHmac('sha256', key);
  for (const frame of frames) hmac.update(frame);
  return hmac.digest('hex');
}

export function createHeader(msgType: string, session: string, username = 'sandboxd'): MessageHeader {
  return {
    msg_id: randomUUID(),
    msg_type: msgType,
    session,
    username,
    date: new Date().toISOString(),
    version: PROTOCOL_VERSION,
  };
}

/** Builds the frames of a message ready to send on a DEALER socket (no identities). */
export function encodeMessage(key: string, message: Omit<JupyterMessage, 'buffers'>): Buffer[] {
  const parts = [
    Buffer.from(JSON.stringify(message.header)),
    Buffer.from(JSON.stringify(message.parent_header)),
    Buffer.from(JSON.stringify(message.metadata)),
    Buffer.from(JSON.stringify(message.content)),
  ];
  return [Buffer.from(DELIMITER), Buffer.from(sign(key, parts)), ...parts];
}

/** Raised for frames that are not a valid, correctly signed Jupyter message. */
export class WireError extends Error {
  override readonly name = 'WireError';
}

/** Parses received frames; throws `WireError` on a bad signature or malformed frames. */
export function decodeMessage(key: string, frames: readonly Buffer[]): JupyterMessage {
  const at = frames.findIndex((f) => f.length === DELIMITER.length && f.toString() === DELIMITER);
  if (at < 0 || frames.length < at + 6) throw new WireError('message without delimiter or frames');
  const signature = frames[at + 1]!.toString();
  const parts = frames.slice(at + 2, at + 6);
  if (key !== '') {
    const expected = Buffer.from(sign(key, parts));
    const got = Buffer.from(signature);
    if (expected.length !== got.length || !timingSafeEqual(expected, got)) {
      throw new WireError('invalid message signature');
    }
  }
  try {
    return {
      header: JSON.parse(parts[0]!.toString()) as MessageHeader,
      parent_header: JSON.parse(parts[1]!.toString()) as Partial<MessageHeader>,
      metadata: JSON.parse(parts[2]!.toString()) as Record<string, unknown>,
      content: JSON.parse(parts[3]!.toString()) as Record<string, unknown>,
      buffers: frames.slice(at + 6),
    };
  } catch (cause) {
    throw new WireError('message frame is not JSON', { cause });
  }
}
