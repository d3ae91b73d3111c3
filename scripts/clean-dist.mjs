#!/usr/bin/env node
// The first step of `npm run build`: deletes compiled outputs whose source is gone (a moved or
// deleted .ts file leaves its .js behind, and a stale *.test.js would still run), and keeps tests
// and test doubles out of the production `dist/` of the packages built twice (tsconfig.build.json
// into dist/, tsconfig.json with the tests into dist-test/). An output is tsc's when its .d.ts is
// there (declarations are on for every project); its source is the same path under src/ as .ts
// or .tsx. Bundles and assets (no .d.ts) are left alone.
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

/** What tsconfig.build.json excludes: tests and test doubles. */
const isTestSource = (stem) =>
  stem.endsWith('.test') || stem.endsWith('.test-support') || stem.split(sep).some((part) => part === 'testing' || part === 'test');

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
  const twoBuilds = existsSync(join(project, 'tsconfig.build.json'));
  for (const [out, production] of [
    ['dist', twoBuilds],
    ['dist-test', false],
  ]) {
    const dist = join(project, out);
    if (!existsSync(dist)) continue;
    for (const declaration of walk(dist, [])) {
      const stem = relative(dist, declaration).slice(0, -'.d.ts'.length);
      const source = join(project, 'src', stem);
      const hasSource = existsSync(`${source}.ts`) || existsSync(`${source}.tsx`);
      if (hasSource && !(production && isTestSource(stem))) continue;
      for (const ext of ['.js', '.js.map', '.d.ts', '.d.ts.map']) rmSync(join(dist, stem + ext), { force: true });
      removed += 1;
    }
  }
}
/** Removes the directories left empty (a moved folder's). */
function pruneEmpty(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) pruneEmpty(path);
  }
  if (readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
}
for (const project of projects) {
  for (const out of ['dist', 'dist-test']) if (existsSync(join(project, out))) pruneEmpty(join(project, out));
}
if (removed > 0) console.log(`clean-dist: removed the outputs of ${removed} deleted or moved sources (or tests in a production dist)`);
