/**
 * The server name (SNI) of a TLS ClientHello, read from the first bytes a client sends.
 * `undefined` while more bytes are needed; `null` when the bytes are not a ClientHello or carry
 * no server name.
 */
export function readServerName(data: Buffer): string | null | undefined {
  // TLS record: type 22 (handshake), version, length.
  if (data.length < 5) return undefined;
  if (data[0] !== 22) return null;
  const recordLength = data.readUInt16BE(3);
  if (data.length < 5 + recordLength) return recordLength > 16_384 ? null : undefined;
  const hello = data.subarray(5, 5 + recordLength);
  // Handshake: type 1 (ClientHello), 3-byte length, then the body.
  if (hello.length < 4 || hello[0] !== 1) return null;
  let at = 4 + 2 + 32; // client version, random
  const need = (n: number): boolean => at + n <= hello.length;
  if (!need(1)) return null;
  at += 1 + hello[at]!; // session id
  if (!need(2)) return null;
  at += 2 + hello.readUInt16BE(at); // cipher suites
  if (!need(1)) return null;
  at += 1 + hello[at]!; // compression methods
  if (!need(2)) return null;
  const extensionsEnd = at + 2 + hello.readUInt16BE(at);
  at += 2;
  while (at + 4 <= Math.min(extensionsEnd, hello.length)) {
    const type = hello.readUInt16BE(at);
    const length = hello.readUInt16BE(at + 2);
    at += 4;
    if (type === 0) {
      // server_name: list length, then entries of (type, length, name); type 0 is a host name.
      let entry = at + 2;
      while (entry + 3 <= at + length && entry + 3 <= hello.length) {
        const nameType = hello[entry]!;
        const nameLength = hello.readUInt16BE(entry + 1);
        if (nameType === 0 && entry + 3 + nameLength <= hello.length) return hello.subarray(entry + 3, entry + 3 + nameLength).toString('ascii');
        entry += 3 + nameLength;
      }
      return null;
    }
    at += length;
  }
  return null;
}
