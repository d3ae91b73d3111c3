#!/usr/bin/env node
// Part of `npm run check`: a unit test (`*.test.ts`) is in-process, so it imports nothing that
// starts real processes or real agents; those tests are `*.integration.test.ts`. The unit lane also
// refuses child_process at run time (scripts/fast-lane-guard.mjs); this catches it before the build.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const FORBIDDEN = [
  [/from '(node:)?child_process'/, 'node:child_process'],
  [/from 'node-pty'/, 'node-pty'],
  [/from '[^']*test\/agent-fixture\.js'/, 'the real-agent fixture'],
];

function collect(dir, out) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (name.endsWith('.test.ts') && !name.endsWith('.integration.test.ts')) out.push(path);
  }
  return out;
}

const files = readdirSync('packages').flatMap((p) => {
  try {
    return collect(join('packages', p, 'src'), []);
  } catch {
    return [];
  }
});
const problems = [];
for (const file of files) {
  const text = readFileSync(file, 'utf8');
  for (const [pattern, what] of FORBIDDEN) {
    if (pattern.test(text)) problems.push(`${file}: a unit test imports ${what}; rename it to *.integration.test.ts`);
  }
}
if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
