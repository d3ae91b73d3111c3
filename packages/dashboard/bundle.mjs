#!/usr/bin/env node
// Builds the dashboard's browser assets into dist/public: app.js (esbuild bundle of src/main.tsx
// with Preact), and the static files of public/ copied as they are. The daemon serves this folder
// at /dashboard (packages/server/src/api/dashboard-route.ts); nothing is loaded from elsewhere.
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, 'dist/public');
rmSync(out, { recursive: true, force: true });
mkdirSync(join(out, 'assets'), { recursive: true });
cpSync(join(here, 'public/index.html'), join(out, 'index.html'));
for (const name of ['app.css', 'favicon.svg']) cpSync(join(here, 'public', name), join(out, 'assets', name));

await build({
  entryPoints: [join(here, 'src/main.tsx')],
  outfile: join(out, 'assets/app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['chrome110', 'firefox115', 'safari16'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  minify: true,
  sourcemap: 'linked',
  legalComments: 'linked',
  logLevel: 'warning',
});
