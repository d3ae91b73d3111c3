import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { fileSignature } from '@sandboxd/protocol';
import { fileAccessError, passesTokenGate } from './access.js';
import { basicAuthUser } from './request-user.js';
import { acceptsGzip, parseRange, refusesIdentity, worthGzip } from './rest/download.js';

const req = (method: string, headers: Record<string, string> = {}) => ({ method, headers }) as unknown as IncomingMessage;

describe('access rules', () => {
  it('gates everything but /health and /files behind the token', () => {
    assert.equal(passesTokenGate('GET', '/envs', undefined, null), true);
    assert.equal(passesTokenGate('GET', '/envs', undefined, 't'), false);
    assert.equal(passesTokenGate('GET', '/envs', 't', 't'), true);
    assert.equal(passesTokenGate('GET', '/envs', 'tt', 't'), false);
    assert.equal(passesTokenGate('GET', '/health', undefined, 't'), true);
    assert.equal(passesTokenGate('POST', '/files', undefined, 't'), true);
    assert.equal(passesTokenGate('POST', '/health', undefined, 't'), false);
  });

  it('checks /files signatures, usernames and expirations', () => {
    const q = (o: Record<string, string>) => new URLSearchParams(o);
    const sig = fileSignature({ path: '/a', operation: 'read', username: '', accessToken: 't' });
    assert.equal(fileAccessError(req('GET'), q({ path: '/a', signature: sig }), 't', 'read'), undefined);
    assert.equal(fileAccessError(req('GET'), q({ path: '/a', signature: sig }), 't', 'write'), 'invalid signature');
    assert.equal(fileAccessError(req('GET'), q({ path: '/a' }), 't', 'read'), 'missing signature query parameter');
    assert.equal(fileAccessError(req('GET'), q({ path: '/a' }), null, 'read'), undefined);
    const exp = fileSignature({ path: '/a', operation: 'read', username: '', accessToken: 't', expiration: 100 });
    assert.equal(fileAccessError(req('GET'), q({ path: '/a', signature: exp, signature_expiration: '100' }), 't', 'read', 99), undefined);
    assert.equal(fileAccessError(req('GET'), q({ path: '/a', signature: exp, signature_expiration: '100' }), 't', 'read', 101), 'signature is already expired');
  });

  it('parses Basic auth usernames', () => {
    assert.equal(basicAuthUser('Basic cm9vdDo='), 'root');
    assert.equal(basicAuthUser('Bearer x'), undefined);
    assert.equal(basicAuthUser(undefined), undefined);
  });

  it('negotiates gzip and parses ranges', () => {
    assert.equal(acceptsGzip('gzip, deflate'), true);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('identity'), false);
    assert.deepEqual(parseRange('bytes=0-1', 10), { start: 0, end: 1 });
    assert.deepEqual(parseRange('bytes=-3', 10), { start: 7, end: 9 });
    assert.equal(parseRange('bytes=20-', 10), 'invalid');
    assert.equal(parseRange(undefined, 10), undefined);
  });

  it('refuses identity only when told so', () => {
    assert.equal(refusesIdentity(undefined), false);
    assert.equal(refusesIdentity('gzip, deflate'), false);
    assert.equal(refusesIdentity('gzip, identity;q=0'), true);
    assert.equal(refusesIdentity('gzip, *;q=0'), true);
    assert.equal(refusesIdentity('identity;q=0.5, *;q=0'), false);
  });

  it('gzips what compresses and not what does not', () => {
    assert.equal(worthGzip(Buffer.from('abc '.repeat(10_000))), true);
    assert.equal(worthGzip(randomBytes(64 * 1024)), false);
    assert.equal(worthGzip(Buffer.from('zipped')), false);
    assert.equal(worthGzip(Buffer.alloc(0)), false);
  });
});
