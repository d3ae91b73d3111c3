import { lookup } from 'node:dns/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { anyDomainMatches } from './domain-match.js';
import { readServerName } from './client-hello.js';
import { readHttpHost } from './http-host.js';

/** How long a client may take to send its ClientHello or request headers. */
const FIRST_BYTES_TIMEOUT_MS = 10_000;
const MAX_FIRST_BYTES = 16 * 1024 + 5;
const CONNECT_TIMEOUT_MS = 15_000;

export interface DomainProxyOptions {
  /** The domain entries allowed to the sandbox at `sourceAddress`; undefined: not a sandbox with domain rules. */
  domainsFor(sourceAddress: string): readonly string[] | undefined;
  /** Upstream addresses no sandbox may reach (private, link-local, the host's own networks). */
  isDeniedAddress(ip: string): boolean;
  /** Resolves a host name to IPv4 addresses (default: the host's resolver). */
  resolve?: (hostname: string) => Promise<string[]>;
  /** Upstream ports (tests); default 80 and 443, the ports the sandbox dialled. */
  upstreamPorts?: { http: number; tls: number };
  onEvent?: (event: { sourceAddress: string; host: string | null; port: number; verdict: 'allowed' | 'denied' | 'failed'; reason?: string }) => void;
  /**
   * Bytes of an allowed connection relayed for the sandbox at `sourceAddress` (usage metering):
   * `out` what it sent on to the upstream, `in` what the upstream sent back to it.
   */
  onRelayed?: (sourceAddress: string, bytes: number, direction: 'out' | 'in') => void;
}

export interface DomainProxy {
  /** Where plain HTTP (sandbox port 80) is redirected. */
  httpPort: number;
  /** Where TLS (sandbox port 443) is redirected. */
  tlsPort: number;
  close(): Promise<void>;
}

const defaultResolve = async (hostname: string): Promise<string[]> => (await lookup(hostname, { all: true, family: 4 })).map((a) => a.address);

/**
 * The egress filter for domain entries of `allowOut`, as E2B's: connections a sandbox makes to
 * port 80 and 443 that its IP rules would drop are redirected here (nftables DNAT); the HTTP Host
 * header or the TLS server name decides. An allowed name is resolved here and connected to on
 * the same port, never the address the sandbox dialled (so a forged name cannot reach an address
 * of its choosing), and never to a denied address. Everything else is closed.
 */
export async function startDomainProxy(options: DomainProxyOptions): Promise<DomainProxy> {
  const resolve = options.resolve ?? defaultResolve;
  const sockets = new Set<Socket>();
  const serve = (upstreamPort: number, readName: (data: Buffer) => string | null | undefined): Server =>
    createServer((client) => {
      sockets.add(client);
      client.once('close', () => sockets.delete(client));
      client.on('error', () => undefined);
      const sourceAddress = (client.remoteAddress ?? '').replace(/^::ffff:/, '');
      const domains = options.domainsFor(sourceAddress);
      if (!domains || domains.length === 0) {
        client.destroy();
        return;
      }
      let buffered = Buffer.alloc(0);
      const timer = setTimeout(() => client.destroy(), FIRST_BYTES_TIMEOUT_MS);
      const report = (host: string | null, verdict: 'allowed' | 'denied' | 'failed', reason?: string): void =>
        options.onEvent?.({ sourceAddress, host, port: upstreamPort, verdict, ...(reason ? { reason } : {}) });
      const onData = (chunk: Buffer): void => {
        buffered = Buffer.concat([buffered, chunk]);
        const name = buffered.length > MAX_FIRST_BYTES ? null : readName(buffered);
        if (name === undefined) return;
        client.off('data', onData);
        client.pause();
        clearTimeout(timer);
        if (name === null || !anyDomainMatches(name, domains)) {
          report(name, 'denied', name === null ? 'no host name' : 'not in allowOut');
          client.destroy();
          return;
        }
        void forward(client, sourceAddress, name, buffered, upstreamPort).then(
          () => report(name, 'allowed'),
          (error: unknown) => {
            report(name, 'failed', error instanceof Error ? error.message : String(error));
            client.destroy();
          },
        );
      };
      client.on('data', onData);
    });

  async function forward(client: Socket, sourceAddress: string, host: string, firstBytes: Buffer, port: number): Promise<void> {
    const addresses = (await resolve(host)).filter((ip) => !options.isDeniedAddress(ip));
    const address = addresses[0];
    if (address === undefined) throw new Error(`${host} resolves to no address a sandbox may reach`);
    if (client.destroyed) return;
    const upstream = connect({ host: address, port, timeout: CONNECT_TIMEOUT_MS });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    await new Promise<void>((resolveConnect, rejectConnect) => {
      upstream.once('connect', () => resolveConnect());
      upstream.once('timeout', () => rejectConnect(new Error(`connecting to ${host} (${address}) timed out`)));
      upstream.once('error', rejectConnect);
    });
    upstream.setTimeout(0);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
    upstream.write(firstBytes);
    const relayed = options.onRelayed;
    if (relayed) {
      relayed(sourceAddress, firstBytes.length, 'out');
      client.on('data', (chunk: Buffer) => relayed(sourceAddress, chunk.length, 'out'));
      upstream.on('data', (chunk: Buffer) => relayed(sourceAddress, chunk.length, 'in'));
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  }

  const listen = (server: Server): Promise<number> =>
    new Promise((resolveListen, rejectListen) => {
      server.once('error', rejectListen);
      server.listen(0, '0.0.0.0', () => {
        const address = server.address();
        resolveListen(typeof address === 'object' && address ? address.port : 0);
      });
    });
  const httpServer = serve(options.upstreamPorts?.http ?? 80, readHttpHost);
  const tlsServer = serve(options.upstreamPorts?.tls ?? 443, readServerName);
  const [httpPort, tlsPort] = await Promise.all([listen(httpServer), listen(tlsServer)]);
  return {
    httpPort,
    tlsPort,
    async close() {
      for (const socket of sockets) socket.destroy();
      await Promise.all([httpServer, tlsServer].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
