import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Hono } from 'hono';

/**
 * The page's Content-Security-Policy: everything from this origin only, no inline script or
 * style, no plugins, no framing, no form posts (the sign-in form is handled in script, so a key
 * can never end up in a URL through a form submission).
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const SECURITY_HEADERS = {
  'Content-Security-Policy': DASHBOARD_CSP,
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'X-Frame-Options': 'DENY',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
};

/** The built dashboard (`packages/dashboard/dist/public`), as the workspace package resolves. */
export function defaultDashboardDir(): string {
  return fileURLToPath(new URL('.', import.meta.resolve('@sandboxd/dashboard/public/index.html')));
}

/** Files under `dir` by URL path below `/dashboard/` (`index.html`, `assets/app.js`, …); only known types. */
function listAssets(dir: string): Map<string, { file: string; type: string }> {
  const assets = new Map<string, { file: string; type: string }>();
  const walk = (at: string) => {
    for (const name of readdirSync(at)) {
      const file = join(at, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const type = CONTENT_TYPES[name.slice(name.lastIndexOf('.'))];
        if (type !== undefined) assets.set(relative(dir, file).split(sep).join('/'), { file, type });
      }
    }
  };
  walk(dir);
  return assets;
}

/**
 * `GET /dashboard` (the page) and `GET /dashboard/<asset>`: the web dashboard's static files,
 * needing no API key (the page signs in against the API itself). Only the files present in `dir`
 * when the route is made are served, with their content type and a strict CSP; anything else
 * under `/dashboard/` is 404. Without a build, `/dashboard` answers 503 saying so.
 */
export function dashboardRoute(options: { dir?: string } = {}): Hono {
  const app = new Hono();
  let assets: Map<string, { file: string; type: string }> | undefined;
  try {
    const dir = options.dir ?? defaultDashboardDir();
    assets = listAssets(dir);
    if (!assets.has('index.html')) assets = undefined;
  } catch {
    assets = undefined;
  }
  const plain = (status: 404 | 503, text: string) =>
    new Response(text, { status, headers: { 'Content-Type': 'text/plain; charset=utf-8', ...SECURITY_HEADERS } });

  const serve = (name: string): Response => {
    if (assets === undefined) return plain(503, 'the dashboard is not built: run `npm run build` in the sandboxd checkout\n');
    const asset = assets.get(name);
    if (asset === undefined) return plain(404, `no dashboard file ${name}\n`);
    const body = readFileSync(asset.file);
    return new Response(body, {
      status: 200,
      headers: {
        'Content-Type': asset.type,
        'Content-Length': String(body.length),
        // The page always revalidates, so a rebuilt daemon serves the new assets at once.
        'Cache-Control': 'no-cache',
        ...SECURITY_HEADERS,
      },
    });
  };

  app.get('/dashboard', () => serve('index.html'));
  app.get('/dashboard/', () => serve('index.html'));
  app.get('/dashboard/*', (c) => serve(c.req.path.slice('/dashboard/'.length)));
  return app;
}
