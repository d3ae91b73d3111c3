import { createHash, timingSafeEqual } from 'node:crypto';

/** Operation a signed `/files` URL grants. */
export type FileOperation = 'read' | 'write';

export interface FileSignatureInput {
  /** The `path` query value exactly as given (unresolved; empty when absent). */
  path: string;
  operation: FileOperation;
  /** The `username` query value, or empty for the default user. */
  username: string;
  accessToken: string;
  /** Unix seconds; part of the signature when present. */
  expiration?: number | undefined;
}

/** E2B's v1 URL signature: "v1_" + unpadded base64 of sha256 over `path:op:user:token[:exp]`. */
export function fileSignature(input: FileSignatureInput): string {
  const parts = [input.path, input.operation, input.username, input.accessToken];
  if (input.expiration !== undefined) parts.push(String(input.expiration));
  const digest = createHash('sha256').update(parts.join(':')).digest('base64').replace(/=+$/, '');
  return `v1_${digest}`;
}

/** Constant-time comparison of a presented signature with the expected one. */
export function signatureMatches(presented: string, input: FileSignatureInput): boolean {
  const expected = Buffer.from(fileSignature(input));
  const actual = Buffer.from(presented);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
