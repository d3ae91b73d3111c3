/** The dashboard's pages, addressed by the URL's fragment (`#/sandboxes/<id>`). Pure. */
export type Route =
  | { page: 'sandboxes' }
  | { page: 'sandbox'; sandboxId: string }
  | { page: 'templates' }
  | { page: 'template'; templateId: string }
  | { page: 'usage' }
  | { page: 'keys' };

/** Parses a `location.hash`; anything unknown is the sandbox list. */
export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#?\/?/, '').split('/').filter((p) => p !== '');
  const arg = parts[1] === undefined ? undefined : safeDecode(parts[1]);
  if (parts[0] === 'sandboxes' && arg !== undefined && parts.length === 2) return { page: 'sandbox', sandboxId: arg };
  if (parts[0] === 'templates' && arg !== undefined && parts.length === 2) return { page: 'template', templateId: arg };
  if (parts[0] === 'templates' && parts.length === 1) return { page: 'templates' };
  if (parts[0] === 'usage' && parts.length === 1) return { page: 'usage' };
  if (parts[0] === 'keys' && parts.length === 1) return { page: 'keys' };
  return { page: 'sandboxes' };
}

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** The fragment of a route, the inverse of parseRoute. */
export function routeHash(route: Route): string {
  switch (route.page) {
    case 'sandboxes':
      return '#/';
    case 'sandbox':
      return `#/sandboxes/${encodeURIComponent(route.sandboxId)}`;
    case 'templates':
      return '#/templates';
    case 'template':
      return `#/templates/${encodeURIComponent(route.templateId)}`;
    case 'usage':
      return '#/usage';
    case 'keys':
      return '#/keys';
  }
}
