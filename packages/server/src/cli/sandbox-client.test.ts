import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { SandboxdError } from '@sandboxd/protocol';
import { AuthenticationError, FileNotFoundError, Sandbox, SandboxError, SandboxNotFoundError } from 'e2b';
import { sdkOptions, toCliError } from './sandbox-client.js';

/** A port nothing listens on: bound, then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const KEY = `e2b_${'1'.repeat(40)}`;

describe('sandbox CLI connection and errors', () => {
  it('sends sandbox traffic to the API URL unless a sandbox URL is given, and never the SDK debug mode', () => {
    assert.deepEqual(sdkOptions({ apiUrl: 'http://h:1', apiKey: 'k' }), { apiUrl: 'http://h:1', sandboxUrl: 'http://h:1', apiKey: 'k', debug: false });
    assert.equal(sdkOptions({ apiUrl: 'http://h:1', apiKey: 'k', sandboxUrl: 'http://s:2' }).sandboxUrl, 'http://s:2');
  });

  it('says the daemon is not running when the SDK cannot connect', async () => {
    const connection = { apiUrl: `http://127.0.0.1:${await closedPort()}`, apiKey: KEY };
    const thrown = await Sandbox.getInfo('inope', sdkOptions(connection)).then(
      () => assert.fail('getInfo against a closed port resolved'),
      (error: unknown) => error,
    );
    const error = toCliError(thrown, connection, 'inope');
    assert.equal(error.code, 'SANDBOX_UNREACHABLE');
    assert.match(error.message, new RegExp(`cannot reach the sandboxd daemon at ${connection.apiUrl} \\(ECONNREFUSED\\): is it running\\?`));
  });

  it('names the sandbox that is not there, the key that was refused, and keeps file errors apart', () => {
    const connection = { apiUrl: 'http://127.0.0.1:3000', apiKey: KEY };
    const missing = toCliError(new SandboxNotFoundError('Sandbox ix not found'), connection, 'ix');
    assert.equal(missing.code, 'SANDBOX_NOT_FOUND');
    assert.match(missing.message, /^no sandbox ix \(/);
    const status404 = new SandboxError('gone');
    status404.statusCode = 404;
    assert.equal(toCliError(status404, connection, 'ix').code, 'SANDBOX_NOT_FOUND');
    const unauthorized = new SandboxError('401: Invalid API key');
    unauthorized.statusCode = 401;
    for (const refused of [unauthorized, new AuthenticationError('bad key')]) {
      const error = toCliError(refused, connection);
      assert.equal(error.code, 'UNAUTHENTICATED');
      assert.match(error.message, /refused the API key: set E2B_API_KEY/);
    }
    assert.equal(toCliError(new FileNotFoundError('/x not found'), connection, 'ix').code, 'NOT_FOUND');
  });

  it('passes SandboxdErrors through and wraps anything else', () => {
    const connection = { apiUrl: 'http://127.0.0.1:3000', apiKey: KEY };
    const own = new SandboxdError('BAD_REQUEST', 'bad');
    assert.equal(toCliError(own, connection), own);
    const other = toCliError(new Error('boom'), connection);
    assert.equal(other.code, 'INTERNAL');
    assert.equal(other.message, 'boom');
  });
});
