import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Template } from 'e2b';
import { defaultTemplateName, loadTemplateModule, templateFileOf } from './template-file.js';
import { progressBar, stepProgress } from './template-cli.js';

// The template files live outside this repository: `import 'e2b'` must still find the SDK.
const root = mkdtempSync(join(tmpdir(), 'template-file-'));
after(() => rmSync(root, { recursive: true, force: true }));

describe('template files', () => {
  it('loads a TypeScript template.ts of a directory, named after the directory', async () => {
    const dir = join(root, 'My App');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'template.ts'),
      [
        "import { Template } from 'e2b';",
        "const envs: Record<string, string> = { A: '1' };",
        "export default Template().fromTemplate('base').setEnvs(envs).runCmd('echo hi');",
        'export const memoryMB: number = 768;',
      ].join('\n'),
    );
    const mod = await loadTemplateModule(dir);
    assert.equal(mod.name, 'my-app');
    assert.equal(mod.memoryMB, 768);
    assert.equal(mod.cpuCount, undefined);
    const json = JSON.parse(await Template.toJSON(mod.template as Parameters<typeof Template.toJSON>[0], false)) as { fromTemplate: string; steps: Array<{ type: string; args: string[] }> };
    assert.equal(json.fromTemplate, 'base');
    assert.deepEqual(json.steps.map((s) => [s.type, s.args]), [['ENV', ['A', '1']], ['RUN', ['echo hi']]]);
  });

  it('takes a named export, a name of its own and a .mjs file', async () => {
    const file = join(root, 'web.mjs');
    writeFileSync(file, "import { Template } from 'e2b';\nexport const template = Template().fromTemplate('base');\nexport const name = 'web-v2';\nexport const cpuCount = 1;\n");
    const mod = await loadTemplateModule(file);
    assert.equal(mod.name, 'web-v2');
    assert.equal(mod.cpuCount, 1);
  });

  it('says what is wrong with a file that exports no template, and with a missing path', async () => {
    const file = join(root, 'empty.mjs');
    writeFileSync(file, 'export const x = 1;\n');
    await assert.rejects(loadTemplateModule(file), /exports no template/);
    assert.throws(() => templateFileOf(join(root, 'nope')), /no such file or directory/);
    mkdirSync(join(root, 'bare'));
    assert.throws(() => templateFileOf(join(root, 'bare')), /has no template file/);
  });

  it('derives names that the API accepts', () => {
    assert.equal(defaultTemplateName('/x/Data Science/template.ts'), 'data-science');
    assert.equal(defaultTemplateName('/x/_web.ts'), 'web');
  });
});

describe('build progress', () => {
  it('reads step lines and draws a bar', () => {
    assert.deepEqual(stepProgress('[3/7] RUN make'), { step: 3, of: 7, cached: false });
    assert.deepEqual(stepProgress('CACHED [7/7] USER app'), { step: 7, of: 7, cached: true });
    assert.equal(stepProgress('Uploaded app'), undefined);
    assert.equal(progressBar(2, 4, 8), '[####----] 2/4');
    assert.equal(progressBar(0, 0, 4), '[####] 0/0');
  });
});
