import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { kernelSpecFor, normalizeLanguage, restoreEnvCode, setEnvCode, warmupCode } from './languages.js';

describe('languages', () => {
  it('normalises like E2B', () => {
    assert.equal(normalizeLanguage(undefined), 'python');
    assert.equal(normalizeLanguage(null), 'python');
    assert.equal(normalizeLanguage('  '), 'python');
    assert.equal(normalizeLanguage(' JS '), 'javascript');
    assert.equal(normalizeLanguage('ts'), 'typescript');
    assert.equal(normalizeLanguage('Bash'), 'bash');
  });

  it('routes javascript and typescript to the deno kernel, r to IRkernel', () => {
    assert.equal(kernelSpecFor('python'), 'python3');
    assert.equal(kernelSpecFor('javascript'), 'deno');
    assert.equal(kernelSpecFor('typescript'), 'deno');
    assert.equal(kernelSpecFor('bash'), 'bash');
    assert.equal(kernelSpecFor('r'), 'ir');
    assert.equal(kernelSpecFor('R'.toLowerCase()), 'ir');
    assert.equal(kernelSpecFor('java'), 'java');
    assert.equal(kernelSpecFor('kotlin'), undefined);
    assert.equal(kernelSpecFor('constructor'), undefined);
  });

  it('builds env code with safely quoted values', () => {
    assert.equal(setEnvCode('python', { A: 'x"y' }), `__import__('os').environ.update({"A": "x\\"y"})`);
    assert.equal(setEnvCode('javascript', { A: '1' }), 'Deno.env.set("A", "1");');
    assert.equal(setEnvCode('bash', { A: "it's" }), `export A='it'\\''s'`);
    assert.equal(setEnvCode('r', { _A: 'x"y\n', B: '1' }), 'invisible(Sys.setenv(`_A` = "x\\"y\\n", `B` = "1"))');
    assert.equal(setEnvCode('r', {}), '');
    assert.equal(setEnvCode('java', { A: 'x"y' }), 'System.setProperty("A", "x\\"y");');
    assert.throws(() => setEnvCode('python', { 'A;rm': '1' }), RangeError);
    assert.throws(() => setEnvCode('r', { 'A`': '1' }), RangeError);
  });

  it('restores to the base value or removes the variable', () => {
    const code = restoreEnvCode('bash', ['A', 'B'], { A: 'base' });
    assert.equal(code, `export A='base'\nunset B`);
    assert.match(restoreEnvCode('python', ['B'], {}), /environ\.pop\("B", None\)/);
    assert.equal(restoreEnvCode('typescript', ['B'], {}), 'Deno.env.delete("B");');
    assert.equal(restoreEnvCode('java', ['A', 'B'], { A: 'base' }), 'System.setProperty("A", "base");\nSystem.clearProperty("B");');
    assert.equal(restoreEnvCode('r', ['A', 'B'], { A: 'base' }), 'invisible(Sys.setenv(`A` = "base"))\ninvisible(Sys.unsetenv("B"))');
  });
});

describe('warmupCode', () => {
  it('warms Python with the heavy imports and Deno with a cell of its own (require); nothing for bash', () => {
    assert.match(warmupCode('python') ?? '', /import numpy, pandas, matplotlib\.pyplot/);
    assert.match(warmupCode('javascript') ?? '', /createRequire/);
    assert.equal(warmupCode('typescript'), warmupCode('javascript'));
    assert.equal(warmupCode('bash'), undefined);
  });
});
