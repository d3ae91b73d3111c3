/**
 * The API key a request presents: `X-API-KEY`, else `Authorization: Bearer <key>` (the scheme
 * is case-insensitive). Undefined when neither is there.
 */
export function presentedApiKey(headers: Headers): string | undefined {
  const key = headers.get('x-api-key');
  if (key) return key.trim();
  const match = /^bearer\s+(\S+)\s*$/i.exec(headers.get('authorization') ?? '');
  return match?.[1];
}
