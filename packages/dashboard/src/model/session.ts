/** Where the signed-in API key lives: the tab's sessionStorage, never a URL, cookie or localStorage. */
export interface KeyStore {
  get(): string | undefined;
  set(apiKey: string): void;
  clear(): void;
}

export const SESSION_KEY = 'sandboxd.dashboard.apiKey';

/** A KeyStore over a Web Storage (the tab's `sessionStorage` in the browser). */
export function storageKeyStore(storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>): KeyStore {
  return {
    get: () => storage.getItem(SESSION_KEY) ?? undefined,
    set: (apiKey) => storage.setItem(SESSION_KEY, apiKey),
    clear: () => storage.removeItem(SESSION_KEY),
  };
}

/** A key as typed or pasted: surrounding whitespace and an `X-API-KEY:` or `Bearer` prefix dropped. */
export function normalizeKey(input: string): string {
  return input
    .trim()
    .replace(/^x-api-key:\s*/i, '')
    .replace(/^bearer\s+/i, '')
    .trim();
}
