const MAX_HEADER_BYTES = 16 * 1024;

/**
 * The host named by the Host header of the first HTTP/1 request in `data` (port removed).
 * `undefined` while the header block is incomplete; `null` when it is not HTTP or has no Host.
 */
export function readHttpHost(data: Buffer): string | null | undefined {
  const end = data.indexOf('\r\n\r\n');
  if (end < 0) return data.length > MAX_HEADER_BYTES ? null : undefined;
  const lines = data.subarray(0, end).toString('latin1').split('\r\n');
  if (!/^[A-Z]+ \S+ HTTP\/1\.[01]$/.test(lines[0] ?? '')) return null;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === 'host') {
      const value = line.slice(colon + 1).trim();
      if (value.startsWith('[')) return null;
      return value.replace(/:\d+$/, '') || null;
    }
  }
  return null;
}
