import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ErrorCode } from './errors.js';
import { renderErrorsDoc } from './errors-doc.js';

const docPath = new URL('../../../docs/errors.md', import.meta.url);

describe('docs/errors.md', () => {
  it('is the registry as rendered (run `npm run gen:errors-doc` after changing errors.ts)', () => {
    assert.equal(readFileSync(docPath, 'utf8'), renderErrorsDoc());
  });

  it('lists every code once', () => {
    const doc = renderErrorsDoc();
    for (const code of Object.values(ErrorCode)) assert.equal(doc.split(`| \`${code}\` |`).length, 2, code);
  });
});
