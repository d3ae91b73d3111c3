import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { ENVD_PORT } from '@sandboxd/protocol';
import { FakeRuntime, defaultFakeHandler } from './testing/fake-runtime.js';
import { TEST_API_KEY, startStack, withTimeout } from './testing/harness.js';

const USER_PORT = 41235;

/** A raw client connection that has written `text` and ignores whatever comes back. */
function rawClient(port: number, text: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.write(text);
      resolve(socket);
    });
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.once('error', reject);
  });
}

const closedPromise = (socket: net.Socket): Promise<void> =>
  new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));

describe('daemon shutdown', () => {
  it('finishes promptly with keep-alive, never-used, streaming and upgraded connections open; sandboxes survive', async () => {
    const runtime = new FakeRuntime({
      ports: [ENVD_PORT, USER_PORT],
      handler: (sandbox, port, req, res) => {
        if (req.url?.startsWith('/hang')) {
          res.writeHead(200, { 'content-type': 'application/x-ndjson' });
          res.write('tick\n');
          return;
        }
        defaultFakeHandler(sandbox, port, req, res);
      },
    });
    const stack = await startStack({ runtime });
    try {
      const port = Number(new URL(stack.url).port);
      const created = await fetch(`${stack.url}/v2/sandboxes`, { method: 'POST', headers: { 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ templateID: 'base' }) });
      const { sandboxID } = (await created.json()) as { sandboxID: string };
      const host = `${USER_PORT}-${sandboxID}.sandboxd.local`;

      // an idle keep-alive connection that has served a request
      const agent = new http.Agent({ keepAlive: true });
      await new Promise<void>((resolve, reject) => {
        http.get({ port, path: '/echo', headers: { host }, agent }, (res) => res.resume().on('end', resolve)).on('error', reject);
      });
      const keepAlive = Object.values(agent.freeSockets).flat()[0]!;
      assert.ok(keepAlive, 'a pooled keep-alive socket');
      // a connection that never sends a request, and one stuck in its headers
      const silent = await rawClient(port, '');
      const partial = await rawClient(port, 'GET /v2/sandboxes HTTP/1.1\r\nhost: x\r\n');
      // a proxied stream that never ends, and an upgraded (WebSocket) tunnel
      const streaming = await rawClient(port, `GET /hang HTTP/1.1\r\nhost: ${host}\r\n\r\n`);
      const upgraded = await new Promise<net.Socket>((resolve, reject) => {
        const req = http.request({ port, path: '/ws', headers: { host, connection: 'Upgrade', upgrade: 'websocket' }, agent: false });
        req.on('upgrade', (_res, socket) => resolve(socket as net.Socket));
        req.on('error', reject);
        req.end();
      });
      upgraded.on('error', () => {});
      // an upgrade REST refuses, whose client never closes its end
      const refused = await rawClient(port, 'GET /ws HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\n\r\n');
      await new Promise((r) => setTimeout(r, 100));

      const started = Date.now();
      await withTimeout(stack.daemon.close({ timeoutMs: 2_000 }), 4_000, 'daemon.close');
      const took = Date.now() - started;
      assert.ok(took < 1_000, `close took ${took} ms with nothing in flight on the REST side`);
      await withTimeout(Promise.all([keepAlive, silent, partial, streaming, upgraded, refused].map(closedPromise)), 2_000, 'client sockets closed');
      assert.equal(stack.daemon.server.listening, false);
      agent.destroy();

      // the sandbox is still running and adopted by the next daemon on the same home
      const second = await startStack({ runtime, home: stack.home });
      try {
        const health = await fetch(`${second.url}/health`, { headers: { 'e2b-sandbox-id': sandboxID } });
        assert.equal(health.status, 204);
      } finally {
        await second.stopDaemon();
      }
    } finally {
      await stack.close();
    }
  });

  it('gives an in-flight request the grace time, then resets it', async () => {
    const stack = await startStack();
    try {
      const port = Number(new URL(stack.url).port);
      // a REST request whose body never completes
      const stuck = await rawClient(port, `POST /v2/sandboxes HTTP/1.1\r\nhost: x\r\nx-api-key: ${TEST_API_KEY}\r\ncontent-length: 100\r\n\r\n{`);
      await new Promise((r) => setTimeout(r, 100));
      const started = Date.now();
      await withTimeout(stack.daemon.close({ timeoutMs: 300 }), 3_000, 'daemon.close');
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 1_500, `close took ${took} ms`);
      await withTimeout(closedPromise(stuck), 1_000, 'stuck request reset');
    } finally {
      await stack.close();
    }
  });
  it('waits for the runtime to finish releasing sandboxes killed just before', async () => {
    class SlowReleaseRuntime extends FakeRuntime {
      settled = false;
      override async settle(): Promise<void> {
        await new Promise((resolve) => setTimeout(resolve, 200));
        this.settled = true;
      }
    }
    const runtime = new SlowReleaseRuntime();
    const stack = await startStack({ runtime });
    try {
      const created = await fetch(`${stack.url}/v2/sandboxes`, { method: 'POST', headers: { 'x-api-key': TEST_API_KEY }, body: JSON.stringify({ templateID: 'base' }) });
      const { sandboxID } = (await created.json()) as { sandboxID: string };
      const killed = await fetch(`${stack.url}/sandboxes/${sandboxID}`, { method: 'DELETE', headers: { 'x-api-key': TEST_API_KEY } });
      assert.equal(killed.status, 204);
      await withTimeout(stack.daemon.close({ timeoutMs: 300 }), 3_000, 'daemon.close');
      assert.equal(runtime.settled, true, 'close resolved only after the release finished');
    } finally {
      await stack.close();
    }
  });
});
