#!/usr/bin/env node
// Regenerates the protocol code from spec/envd/*.proto into a temporary directory, with the same
// buf config and protoc-gen-es as `npm run gen`, and fails when the committed files in
// packages/protocol/src/gen differ (changed, missing or extra files).
import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committedDir = join(root, 'packages/protocol/src/gen');

/** Every file under `dir`, as paths relative to it, sorted. */
async function listFiles(dir) {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)))
    .sort();
}

/** The first line where `a` and `b` differ (1-based), and the lines only one of them has. */
function lineDiff(a, b) {
  const la = a.split('\n');
  const lb = b.split('\n');
  let i = 0;
  while (i < la.length && la[i] === lb[i]) i++;
  const counts = new Map();
  for (const line of la) counts.set(line, (counts.get(line) ?? 0) + 1);
  let added = 0;
  for (const line of lb) {
    const n = counts.get(line) ?? 0;
    if (n > 0) counts.set(line, n - 1);
    else added++;
  }
  const removed = [...counts.values()].reduce((sum, n) => sum + n, 0);
  return { first: i + 1, added, removed, committed: la[i] ?? '<end of file>', generated: lb[i] ?? '<end of file>' };
}

const tmp = await mkdtemp(join(tmpdir(), 'sandboxd-check-gen-'));
try {
  // buf.gen.yaml writes to ../packages/protocol/src/gen relative to spec/: a copy of spec/ inside
  // the temporary directory sends the output there, with the config left untouched.
  await cp(join(root, 'spec'), join(tmp, 'spec'), { recursive: true });
  const bins = [join(root, 'packages/protocol/node_modules/.bin'), join(root, 'node_modules/.bin')];
  const run = spawnSync('buf', ['generate'], {
    cwd: join(tmp, 'spec'),
    encoding: 'utf8',
    env: { ...process.env, PATH: [...bins, process.env.PATH ?? ''].join(delimiter) },
  });
  if (run.error || run.status !== 0) {
    throw new Error(`buf generate failed: ${run.error?.message ?? run.stderr.trim()}`);
  }
  const generatedDir = join(tmp, 'packages/protocol/src/gen');
  const committed = await listFiles(committedDir);
  const generated = await listFiles(generatedDir);
  const problems = [];
  for (const file of generated.filter((f) => !committed.includes(f))) problems.push(`missing (generated, not committed): ${file}`);
  for (const file of committed.filter((f) => !generated.includes(f))) problems.push(`extra (committed, not generated): ${file}`);
  for (const file of committed.filter((f) => generated.includes(f))) {
    const a = await readFile(join(committedDir, file), 'utf8');
    const b = await readFile(join(generatedDir, file), 'utf8');
    if (a === b) continue;
    const d = lineDiff(a, b);
    problems.push(
      `differs: ${file}: ${d.removed} committed line(s) not generated, ${d.added} generated line(s) not committed, first difference at line ${d.first}\n` +
        `    committed: ${d.committed.trim()}\n    generated: ${d.generated.trim()}`,
    );
  }
  if (problems.length > 0) {
    console.error(`check-generated: packages/protocol/src/gen is not what spec/ generates (${problems.length} file(s)):`);
    for (const p of problems) console.error(`  ${p}`);
    console.error('check-generated: run `npm run gen` and commit the result.');
    process.exitCode = 1;
  } else {
    console.log(`check-generated: ${committed.length} generated file(s) match spec/`);
  }
} finally {
  await rm(tmp, { recursive: true, force: true });
}
