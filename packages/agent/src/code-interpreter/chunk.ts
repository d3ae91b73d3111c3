/**
 * Splits stream text into pieces of bounded UTF-8 size, so one huge Jupyter `stream` message
 * (ipykernel flushes everything printed in 0.2 s as one message) reaches the client as many
 * NDJSON lines instead of one line the size of the whole output.
 */

/** Largest UTF-8 size of the text of one stdout/stderr line of `/execute`. */
export const MAX_CHUNK_BYTES = 64 * 1024;

const NON_ASCII = /[^\p{ASCII}]/u;

function utf8Length(text: string): number {
  return NON_ASCII.test(text) ? Buffer.byteLength(text, 'utf8') : text.length;
}

/** Longest prefix of `text.slice(start, end)` that is at most `maxBytes` of UTF-8, never splitting a surrogate pair. */
function fittingEnd(text: string, start: number, end: number, maxBytes: number): number {
  if (utf8Length(text.slice(start, end)) <= maxBytes) return end;
  let bytes = 0;
  let at = start;
  while (at < end) {
    const code = text.charCodeAt(at);
    const pair = code >= 0xd800 && code <= 0xdbff && at + 1 < end && (text.charCodeAt(at + 1) & 0xfc00) === 0xdc00;
    const size = pair ? 4 : code < 0x80 ? 1 : code < 0x800 ? 2 : 3;
    if (bytes + size > maxBytes) break;
    bytes += size;
    at += pair ? 2 : 1;
  }
  return at;
}

/**
 * Yields consecutive pieces of `text` whose concatenation is exactly `text`, each at most
 * `maxBytes` of UTF-8 (surrogate pairs are never split). A piece ends after a newline when one
 * lies in the second half of the window, so line-oriented consumers mostly see whole lines.
 */
export function* chunkText(text: string, maxBytes = MAX_CHUNK_BYTES): Generator<string> {
  if (maxBytes < 4) throw new RangeError('maxBytes must be at least 4');
  if (utf8Length(text) <= maxBytes) {
    yield text;
    return;
  }
  let start = 0;
  while (start < text.length) {
    // Every UTF-16 unit is at least one UTF-8 byte, so the piece lies within maxBytes units.
    let end = fittingEnd(text, start, Math.min(text.length, start + maxBytes), maxBytes);
    if (end < text.length) {
      const newline = text.lastIndexOf('\n', end - 1);
      if (newline >= start && newline + 1 - start >= (end - start) / 2) end = newline + 1;
      // A lone high surrogate at the cut would be split from its low half.
      const last = text.charCodeAt(end - 1);
      if (last >= 0xd800 && last <= 0xdbff && end - 1 > start) end -= 1;
    }
    yield text.slice(start, end);
    start = end;
  }
}
