import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Publisher } from 'zeromq';
import { KernelClient } from './client.js';
import type { ConnectionInfo } from './connection.js';
import { createHeader, encodeMessage } from './wire.js';

const key = 'test-key';
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function message(parent: string, n: number): Buffer[] {
  return encodeMessage(key, { header: createHeader('stream', 'kernel'), parent_header: { msg_id: parent }, metadata: {}, content: { n, pad: 'p'.repeat(4096) } });
}

describe('KernelClient iopub backpressure', () => {
  it('reads no further message while a listener holds the channel, and loses none meanwhile', async () => {
    // Like a kernel's PUB socket, which drops messages for a subscriber whose queues are full.
    const pub = new Publisher({ linger: 0, sendHighWaterMark: 1000 });
    await pub.bind('tcp://127.0.0.1:*');
    const port = Number(/:(\d+)$/.exec(pub.lastEndpoint ?? '')?.[1]);
    const info: ConnectionInfo = {
      transport: 'tcp',
      ip: '127.0.0.1',
      shell_port: port + 1,
      control_port: port + 2,
      stdin_port: port + 3,
      hb_port: port + 4,
      iopub_port: port,
      key,
      signature_scheme: 'hmac-sha256',
      kernel_name: 'test',
    };
    const client = new KernelClient(info);
    try {
      // Subscriptions propagate asynchronously: publish probes until one arrives.
      let joined = false;
      const stopProbe = client.listen('probe', () => {
        joined = true;
      });
      for (let i = 0; !joined && i < 200; i += 1) {
        await pub.send(message('probe', i));
        await sleep(10);
      }
      stopProbe();
      assert.ok(joined, 'the subscriber joined');

      // 5000 messages of 4 KiB, more than the publisher's queue, the socket buffers and a default
      // receive high-water mark (1000) together hold, while the listener holds the channel for a
      // while at the first and every 1000th message.
      const total = 5000;
      const seen: number[] = [];
      let active = 0;
      let overlapped = false;
      const all = new Promise<void>((resolve) => {
        client.listen('cell', async (_channel, msg) => {
          if (active > 0) overlapped = true;
          active += 1;
          const n = Number(msg.content.n);
          seen.push(n);
          if (n % 1000 === 0) {
            const before = seen.length;
            await sleep(n === 0 ? 300 : 50);
            if (seen.length !== before) overlapped = true;
          }
          active -= 1;
          if (seen.length === total) resolve();
        });
      });
      for (let i = 0; i < total; i += 1) await pub.send(message('cell', i));
      // Done, or stalled: no message for 10 s (a loaded machine needs more than a fixed bound).
      for (let last = -1; seen.length < total && seen.length !== last; ) {
        last = seen.length;
        let stall: NodeJS.Timeout | undefined;
        await Promise.race([all, new Promise<void>((r) => (stall = setTimeout(r, 10_000)))]);
        clearTimeout(stall);
      }
      assert.equal(overlapped, false, 'no message is delivered while a listener holds the channel');
      assert.equal(seen.length, total, 'none dropped');
      assert.ok(
        seen.every((n, i) => n === i),
        'in order',
      );
    } finally {
      client.close();
      pub.close();
    }
  });
});
