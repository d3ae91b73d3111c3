import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { test } from 'node:test';
import { readServerName } from './client-hello.js';
import { domainMatches, isDomainEntry } from './domain-match.js';
import { startDomainProxy } from './domain-proxy.js';
import { readHttpHost } from './http-host.js';
import { ipv4InAny, ipv4InCidr } from './ipv4-ranges.js';

/** The first bytes a real TLS client sends for `servername`. */
async function clientHelloFor(servername: string | undefined): Promise<Buffer> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const received = new Promise<Buffer>((resolve) => server.once('connection', (s) => s.once('data', (d: Buffer) => { resolve(d); s.destroy(); })));
  const client = tlsConnect({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
  client.on('error', () => undefined);
  const hello = await received;
  client.destroy();
  server.close();
  return hello;
}

test('domain entries: exact names and *.suffix, case and trailing dot ignored', () => {
  assert.ok(domainMatches('api.example.com', 'api.example.com'));
  assert.ok(domainMatches('API.Example.com.', 'api.example.com'));
  assert.ok(!domainMatches('evil-api.example.com', 'api.example.com'));
  assert.ok(domainMatches('a.b.example.com', '*.example.com'));
  assert.ok(!domainMatches('example.com', '*.example.com'), 'a wildcard is subdomains only');
  assert.ok(!domainMatches('badexample.com', '*.example.com'));
  assert.ok(isDomainEntry('example.com') && isDomainEntry('*.example.com'));
  for (const notDomain of ['1.1.1.1', '10.0.0.0/8', '::1', 'localhost', '', '-bad.com', 'a..b']) assert.ok(!isDomainEntry(notDomain), notDomain);
});

test('IPv4 ranges', () => {
  assert.ok(ipv4InCidr('10.1.2.3', '10.0.0.0/8'));
  assert.ok(!ipv4InCidr('11.1.2.3', '10.0.0.0/8'));
  assert.ok(ipv4InCidr('1.1.1.1', '1.1.1.1'));
  assert.ok(ipv4InCidr('200.1.1.1', '0.0.0.0/0'));
  assert.ok(ipv4InAny('169.254.169.254', ['192.168.0.0/16', '169.254.0.0/16']));
  assert.ok(!ipv4InCidr('not-an-ip', '0.0.0.0/0'));
});

test('the server name of a real ClientHello, none without SNI, more bytes asked for when cut', async () => {
  const hello = await clientHelloFor('pypi.org');
  assert.equal(readServerName(hello), 'pypi.org');
  assert.equal(readServerName(hello.subarray(0, 20)), undefined);
  assert.equal(readServerName(await clientHelloFor(undefined)), null);
  assert.equal(readServerName(Buffer.from('GET / HTTP/1.1\r\n')), null);
});

test('the Host of an HTTP request', () => {
  assert.equal(readHttpHost(Buffer.from('GET / HTTP/1.1\r\nHost: Example.com:8080\r\nAccept: */*\r\n\r\n')), 'Example.com');
  assert.equal(readHttpHost(Buffer.from('GET / HTTP/1.1\r\nHost: example.com\r\n')), undefined);
  assert.equal(readHttpHost(Buffer.from('GET / HTTP/1.1\r\nAccept: */*\r\n\r\n')), null);
  assert.equal(readHttpHost(Buffer.from('\x16\x03\x01 garbage\r\n\r\n')), null);
});

/** An upstream that answers every connection with what it received first. */
async function echoUpstream(): Promise<Server> {
  const server = createServer((s) => s.once('data', (d: Buffer) => s.end(`upstream saw: ${d.toString('latin1').split('\r\n')[0]}`)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

async function exchange(port: number, payload: Buffer | string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  socket.write(payload);
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  await Promise.race([once(socket, 'close'), new Promise((r) => setTimeout(r, 3_000))]);
  socket.destroy();
  return Buffer.concat(chunks).toString('latin1');
}

test('the proxy forwards allowed names to the resolved address and closes everything else', async () => {
  const upstream = await echoUpstream();
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const events: Array<{ host: string | null; verdict: string }> = [];
  const resolved: string[] = [];
  const proxy = await startDomainProxy({
    domainsFor: (source) => (source === '127.0.0.1' ? ['allowed.example', '*.wild.example'] : undefined),
    isDeniedAddress: (ip) => ip === '10.9.9.9',
    resolve: async (host) => {
      resolved.push(host);
      return host === 'private.wild.example' ? ['10.9.9.9'] : ['127.0.0.1'];
    },
    upstreamPorts: { http: upstreamPort, tls: upstreamPort },
    onEvent: (e) => events.push({ host: e.host, verdict: e.verdict }),
  });
  try {
    assert.equal(await exchange(proxy.httpPort, 'GET /x HTTP/1.1\r\nHost: allowed.example\r\n\r\n'), 'upstream saw: GET /x HTTP/1.1');
    assert.equal(await exchange(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: a.wild.example\r\n\r\n'), 'upstream saw: GET / HTTP/1.1');
    assert.equal(await exchange(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: other.example\r\n\r\n'), '', 'a name not allowed is closed');
    assert.equal(await exchange(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: private.wild.example\r\n\r\n'), '', 'an allowed name resolving to a denied address is closed');
    const hello = await clientHelloFor('allowed.example');
    assert.match(await exchange(proxy.tlsPort, hello), /^upstream saw: /, 'TLS by server name');
    assert.equal(await exchange(proxy.tlsPort, await clientHelloFor('other.example')), '');
    assert.ok(!resolved.includes('other.example'), 'names not allowed are never resolved');
    assert.deepEqual(
      events.map((e) => `${e.host}:${e.verdict}`),
      ['allowed.example:allowed', 'a.wild.example:allowed', 'other.example:denied', 'private.wild.example:failed', 'allowed.example:allowed', 'other.example:denied'],
    );
  } finally {
    await proxy.close();
    upstream.close();
  }
});

test('connections from an address with no domain rules are closed at once', async () => {
  const proxy = await startDomainProxy({ domainsFor: () => undefined, isDeniedAddress: () => false });
  try {
    assert.equal(await exchange(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: anything.example\r\n\r\n'), '');
  } finally {
    await proxy.close();
  }
});

test('the proxy reports the bytes it relays for a sandbox, only of allowed connections', async () => {
  const upstream = await echoUpstream();
  const upstreamPort = (upstream.address() as AddressInfo).port;
  const relayed: Array<[string, number, 'out' | 'in']> = [];
  const proxy = await startDomainProxy({
    domainsFor: () => ['allowed.example'],
    isDeniedAddress: () => false,
    resolve: async () => ['127.0.0.1'],
    upstreamPorts: { http: upstreamPort, tls: upstreamPort },
    onRelayed: (source, bytes, direction) => relayed.push([source, bytes, direction]),
  });
  try {
    const request = 'GET /x HTTP/1.1\r\nHost: allowed.example\r\n\r\n';
    const answer = await exchange(proxy.httpPort, request);
    assert.equal(answer, 'upstream saw: GET /x HTTP/1.1');
    assert.equal(await exchange(proxy.httpPort, 'GET / HTTP/1.1\r\nHost: other.example\r\n\r\n'), '');
    assert.deepEqual([...new Set(relayed.map(([source]) => source))], ['127.0.0.1']);
    const total = (direction: 'out' | 'in') => relayed.filter((r) => r[2] === direction).reduce((sum, [, n]) => sum + n, 0);
    assert.equal(total('out'), Buffer.byteLength(request));
    assert.ok(total('in') >= Buffer.byteLength(answer), `ingress ${total('in')} of an answer of ${Buffer.byteLength(answer)} bytes`);
  } finally {
    await proxy.close();
    upstream.close();
  }
});
