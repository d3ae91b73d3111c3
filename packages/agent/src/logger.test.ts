import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SandboxdError } from '@sandboxd/protocol';
import { createLogger } from './logger.js';
import { inRequest } from './request-scope.js';

describe('agent logger', () => {
  it('writes one JSON line per record, errors with code, stack and cause', () => {
    const lines: string[] = [];
    const logger = createLogger({ component: 'agent' }, (line) => lines.push(line)).child({ server: 'envd' });
    const cause = Object.assign(new Error('EACCES: permission denied'), { code: 'EACCES' });
    logger.error('request failed', { err: new SandboxdError('INTERNAL', 'cannot write', { cause }), path: '/files' });
    assert.equal(lines.length, 1);
    assert.ok(lines[0]!.endsWith('\n'));
    const record = JSON.parse(lines[0]!) as Record<string, any>;
    assert.equal(record.level, 'error');
    assert.equal(record.component, 'agent');
    assert.equal(record.server, 'envd');
    assert.equal(record.path, '/files');
    assert.equal(record.err.code, 'INTERNAL');
    assert.match(record.err.stack, /cannot write\n\s+at /);
    assert.equal(record.err.cause.code, 'EACCES');
    assert.equal(record.err.cause.message, 'EACCES: permission denied');
  });

  it('tags the lines written while a request is handled with its reqId, in its async continuations too', async () => {
    const lines: string[] = [];
    const logger = createLogger({ component: 'agent' }, (line) => lines.push(line));
    await inRequest('req-1', async () => {
      logger.info('started');
      await new Promise((resolve) => setTimeout(resolve, 5));
      logger.info('later');
    });
    logger.info('outside');
    const ids = lines.map((line) => (JSON.parse(line) as { reqId?: string }).reqId);
    assert.deepEqual(ids, ['req-1', 'req-1', undefined]);
  });
});
