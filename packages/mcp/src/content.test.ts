import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Execution } from '@e2b/code-interpreter';
import { executionResult, fileContent } from './content.js';

const PNG_B64 = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0]).toString('base64');

/** An execution as the official SDK parses it from the wire (plain data; the class adds only getters). */
function execution(parts: Partial<Pick<Execution, 'results' | 'logs' | 'error'>>): Execution {
  return { results: [], logs: { stdout: [], stderr: [] }, ...parts } as unknown as Execution;
}

describe('executionResult', () => {
  it('puts stdout and stderr first, a chart as PNG image content plus its data, and skips the figure repr', () => {
    const result = executionResult(
      execution({
        logs: { stdout: ['a\n', 'b\n'], stderr: ['warn\n'] },
        results: [{ isMainResult: false, png: PNG_B64, text: '<Figure size 640x480 with 1 Axes>', chart: { type: 'line', title: 't', elements: [] } } as never],
      }),
    );
    assert.equal(result.isError, undefined);
    assert.deepEqual(result.content, [
      { type: 'text', text: 'stdout:\na\nb\n' },
      { type: 'text', text: 'stderr:\nwarn\n' },
      { type: 'image', data: PNG_B64, mimeType: 'image/png' },
      { type: 'text', text: 'chart data (JSON): {"type":"line","title":"t","elements":[]}' },
    ]);
  });

  it('returns text, HTML and JSON results as text; a plain value as its text', () => {
    const result = executionResult(
      execution({
        results: [
          { isMainResult: false, html: '<b>x</b>', text: 'x' } as never,
          { isMainResult: false, json: '{"a":1}' } as never,
          { isMainResult: true, text: '42' } as never,
        ],
      }),
    );
    assert.deepEqual(result.content, [
      { type: 'text', text: '<b>x</b>' },
      { type: 'text', text: '{"a":1}' },
      { type: 'text', text: '42' },
    ]);
  });

  it('marks a raised error as isError with name, value and traceback', () => {
    const result = executionResult(execution({ logs: { stdout: ['before\n'], stderr: [] }, error: { name: 'ZeroDivisionError', value: 'division by zero', traceback: 'Traceback …' } }));
    assert.equal(result.isError, true);
    assert.deepEqual(result.content, [
      { type: 'text', text: 'stdout:\nbefore\n' },
      { type: 'text', text: 'error: ZeroDivisionError: division by zero\nTraceback …' },
    ]);
  });

  it('says so when there was no output at all', () => {
    assert.deepEqual(executionResult(execution({})).content, [{ type: 'text', text: '(no output)' }]);
  });
});

describe('fileContent', () => {
  it('returns UTF-8 as text, images by signature and other bytes as a base64 resource', () => {
    assert.deepEqual(fileContent('/a.txt', Buffer.from('héllo')), { type: 'text', text: 'héllo' });
    assert.deepEqual(fileContent('/a.png', Buffer.from(PNG_B64, 'base64')), { type: 'image', data: PNG_B64, mimeType: 'image/png' });
    assert.deepEqual(fileContent('/a.jpg', Buffer.from([0xff, 0xd8, 0xff, 0xe0])), { type: 'image', data: Buffer.from([0xff, 0xd8, 0xff, 0xe0]).toString('base64'), mimeType: 'image/jpeg' });
    const binary = Buffer.from([0xc3, 0x28, 0x00, 0xff]);
    assert.deepEqual(fileContent('/x y.bin', binary), {
      type: 'resource',
      resource: { uri: 'file:///x%20y.bin', mimeType: 'application/octet-stream', blob: binary.toString('base64') },
    });
  });
});
