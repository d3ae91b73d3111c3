import { randomBytes, randomInt } from 'node:crypto';

const ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789';

/** Sandbox ids follow E2B: `i` + 20 characters of [a-z0-9]. */
export const SANDBOX_ID_PATTERN = /^i[a-z0-9]{20}$/;

/** E2B's deprecated `clientID`, constant. */
export const CLIENT_ID = '6532622b';

export function newSandboxId(): string {
  let id = 'i';
  for (let i = 0; i < 20; i++) id += ALPHABET[randomInt(ALPHABET.length)];
  return id;
}

/** Random per-sandbox envd access token (hex, so it never contains the signature separator `:`). */
export function newAccessToken(): string {
  return randomBytes(24).toString('hex');
}
