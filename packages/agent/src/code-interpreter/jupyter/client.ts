/**
 * Client side of one kernel's ZeroMQ channels (shell and control DEALERs, iopub SUB).
 * Replies and broadcasts are routed to listeners by their parent message id.
 */
import { randomUUID } from 'node:crypto';
import { Dealer, Subscriber } from 'zeromq';
import { endpoint, type ConnectionInfo } from './connection.js';
import { createHeader, decodeMessage, encodeMessage, type JupyterMessage } from './wire.js';

export type Channel = 'shell' | 'control' | 'iopub';
/**
 * Gets the messages of one request. A listener that returns a promise holds back the channel:
 * the next message is not read from its socket until the promise settles (backpressure).
 */
export type MessageListener = (channel: Channel, message: JupyterMessage) => void | Promise<void>;

/** How long iopub may be held back before the kernel is told to stop producing. */
export const IOPUB_HOLD_GRACE_MS = 20;

export interface WaitOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
}

export class KernelClient {
  readonly session = randomUUID();
  private readonly shell = new Dealer({ linger: 0 });
  private readonly control = new Dealer({ linger: 0 });
  /**
   * No receive high-water mark: the kernel's PUB socket silently drops messages for a subscriber
   * whose queue is full, and the pump pauses while a slow client catches up, so a bounded queue
   * here would lose output. Paused, messages wait in this (native) queue instead.
   */
  private readonly iopub = new Subscriber({ linger: 0, receiveHighWaterMark: 0 });
  private readonly listeners = new Map<string, MessageListener>();
  private closed = false;
  /**
   * Called with true when a listener has held iopub back for IOPUB_HOLD_GRACE_MS (a slow client),
   * and with false when it lets go: the kernel's owner pauses and resumes the kernel, so what it
   * prints waits in the kernel instead of piling up in this process.
   */
  onIopubHeld: ((held: boolean) => void) | undefined;
  readonly transport: ConnectionInfo['transport'];
  /** For `ipc`: the socket path prefix. */
  readonly ipcPrefix: string;

  constructor(private readonly info: ConnectionInfo) {
    this.transport = info.transport;
    this.ipcPrefix = info.ip;
    this.shell.connect(endpoint(info, info.shell_port));
    this.control.connect(endpoint(info, info.control_port));
    this.iopub.connect(endpoint(info, info.iopub_port));
    this.iopub.subscribe();
    void this.pump('shell', this.shell);
    void this.pump('control', this.control);
    void this.pump('iopub', this.iopub);
  }

  private async pump(channel: Channel, socket: AsyncIterable<Buffer[]>): Promise<void> {
    try {
      for await (const frames of socket) {
        let message: JupyterMessage;
        try {
          message = decodeMessage(this.info.key, frames);
        } catch {
          continue; // a frame we cannot authenticate is never trusted
        }
        const parent = message.parent_header.msg_id;
        if (parent === undefined) continue;
        const held = this.listeners.get(parent)?.(channel, message);
        if (held) await this.waitHeld(channel, held);
      }
    } catch (error) {
      if (!this.closed) throw error;
    }
  }

  private async waitHeld(channel: Channel, held: Promise<void>): Promise<void> {
    const report = channel === 'iopub' ? this.onIopubHeld : undefined;
    if (report === undefined) {
      await held.catch(() => undefined);
      return;
    }
    let reported = false;
    const timer = setTimeout(() => {
      reported = true;
      report(true);
    }, IOPUB_HOLD_GRACE_MS);
    try {
      await held.catch(() => undefined);
    } finally {
      clearTimeout(timer);
      if (reported) report(false);
    }
  }

  /** Routes every message whose parent is `msgId` to `listener` until the returned function runs. */
  listen(msgId: string, listener: MessageListener): () => void {
    this.listeners.set(msgId, listener);
    return () => this.listeners.delete(msgId);
  }

  /** Sends a request and returns its message id; register a listener for it first via `prepare`. */
  async send(channel: 'shell' | 'control', msgType: string, content: object, msgId?: string): Promise<string> {
    const header = createHeader(msgType, this.session);
    if (msgId !== undefined) header.msg_id = msgId;
    const frames = encodeMessage(this.info.key, { header, parent_header: {}, metadata: {}, content: content as Record<string, unknown> });
    await (channel === 'shell' ? this.shell : this.control).send(frames);
    return header.msg_id;
  }

  /** Sends a request and resolves with its reply on the same channel. */
  async request(channel: 'shell' | 'control', msgType: string, content: object, options: WaitOptions = {}): Promise<JupyterMessage> {
    const msgId = randomUUID();
    return await new Promise<JupyterMessage>((resolve, reject) => {
      const done = settle(options, reject, () => stop());
      const stop = this.listen(msgId, (ch, message) => {
        if (ch === channel && message.header.msg_type.endsWith('_reply')) {
          done();
          resolve(message);
        }
      });
      this.send(channel, msgType, content, msgId).catch((error: unknown) => {
        done();
        reject(error);
      });
    });
  }

  /**
   * Resolves once the kernel answers `kernel_info_request` and iopub is known to be connected
   * (a broadcast caused by one of our requests arrived), retrying while the kernel boots.
   */
  async waitReady(options: WaitOptions = {}): Promise<JupyterMessage['content']> {
    return await new Promise((resolve, reject) => {
      let reply: JupyterMessage['content'] | undefined;
      let iopubSeen = false;
      const stops: (() => void)[] = [];
      const done = settle(options, reject, () => {
        clearInterval(timer);
        for (const stop of stops) stop();
      });
      const attempt = (): void => {
        const msgId = randomUUID();
        stops.push(
          this.listen(msgId, (channel, message) => {
            if (channel === 'iopub') iopubSeen = true;
            if (channel === 'shell' && message.header.msg_type === 'kernel_info_reply') reply = message.content;
            if (reply !== undefined && iopubSeen) {
              done();
              resolve(reply);
            }
          }),
        );
        this.send('shell', 'kernel_info_request', {}, msgId).catch(() => undefined);
      };
      const timer = setInterval(attempt, 250);
      attempt();
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    this.shell.close();
    this.control.close();
    this.iopub.close();
  }
}

/**
 * Wires `signal` and `timeoutMs` to `reject`; returns a function that detaches them
 * and runs `cleanup` (call it exactly when the operation settles).
 */
export function settle(options: WaitOptions, reject: (reason: unknown) => void, cleanup: () => void): () => void {
  const { signal, timeoutMs } = options;
  let finished = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    if (timer) clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    cleanup();
  };
  const onAbort = (): void => {
    finish();
    reject(signal?.reason);
  };
  const timer =
    timeoutMs !== undefined && timeoutMs > 0
      ? setTimeout(() => {
          finish();
          reject(new Error(`kernel did not answer within ${timeoutMs} ms`));
        }, timeoutMs)
      : undefined;
  if (signal?.aborted) queueMicrotask(onAbort);
  else signal?.addEventListener('abort', onAbort, { once: true });
  return finish;
}
