#!/usr/bin/env node
// Bundles the compiled agent into one file, packages/agent/dist/agent.bundle.mjs: under gVisor
// every file a module load opens is expensive, and one file instead of hundreds starts the agent
// about 300 ms sooner (docs/benchmarks.md). Native and binary packages stay external.
import { chmodSync } from 'node:fs';
import { build } from 'esbuild';

await build({
  entryPoints: ['packages/agent/dist/main.js'],
  outfile: 'packages/agent/dist/agent.bundle.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  external: ['zeromq', 'node-pty', 'deno'],
  // Bundled CommonJS dependencies call require() for Node built-ins.
  banner: { js: "import { createRequire as sandboxdCreateRequire } from 'node:module'; const require = sandboxdCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

// The sudo shim for images without /usr/bin/python3 (packages/agent/src/sudo/shim): one file on
// the agent's Node.js, its shebang kept, executable (the template links /usr/bin/sudo to it).
await build({
  entryPoints: ['packages/agent/dist/sudo/shim/main.js'],
  outfile: 'packages/agent/dist/sudo-shim.mjs',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  logLevel: 'warning',
});
chmodSync('packages/agent/dist/sudo-shim.mjs', 0o755);
