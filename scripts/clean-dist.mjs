#!/usr/bin/env node
// The first step of `npm run build`: deletes compiled outputs whose source is gone (a moved or
// deleted .ts file leaves its .js behind, and a stale *.test.js would still run). An output is
// tsc's when its .d.ts is there (declarations are on for every project); its source is the same
// path under src/ as .ts or .tsx. Bundles and assets (no .d.ts) are left alone.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const projects = [...readdirSync('packages').map((p) => join('packages', p)), 'tests/e2e', 'bench'];

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.d.ts')) out.push(path);
  }
  return out;
}

let removed = 0;
for (const project of projects) {
  const dist = join(project, 'dist');
  if (!existsSync(dist)) continue;
  for (const declaration of walk(dist, [])) {
    const stem = relative(dist, declaration).slice(0, -'.d.ts'.length);
    const source = join(project, 'src', stem);
    if (existsSync(`${source}.ts`) || existsSync(`${source}.tsx`)) continue;
    for (const ext of ['.js', '.js.map', '.d.ts', '.d.ts.map']) {
      rmSync(join(dist, stem + ext), { force: true });
    }
    removed += 1;
  }
}
if (removed > 0) console.log(`clean-dist: removed the outputs of ${removed} deleted or moved sources`);
