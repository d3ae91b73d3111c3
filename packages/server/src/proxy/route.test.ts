import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fileSignature } from '@sandboxd/protocol';
import type { SandboxRecord } from '../sandboxes/sandbox-record.js';
import { resolveRoute } from './route.js';
import type { RouteLookup } from './route.js';

function record(id: string, accessToken: string | null): SandboxRecord {
  return {
    sandboxId: id, templateId: 't', templateAlias: 'base', rootfsPath: '/r', metadata: {}, envVars: {}, accessToken,
    address: '127.0.0.9', limits: { memoryMB: 1, cpuCount: 1, pidsLimit: 1, diskSizeMB: 1 },
    egress: { allowInternetAccess: true, allowOut: [], denyOut: [] }, startedAt: 0, endAt: 1, state: 'running',
  };
}

const lookupOf = (records: SandboxRecord[]): RouteLookup => ({
  find: (id) => records.find((r) => r.sandboxId === id),
  running: () => records,
});

const DOMAIN = 'sandboxd.local';

describe('resolveRoute', () => {
  const a = record('iaaaaaaaaaaaaaaaaaaaa', 'token-a');
  const b = record('ibbbbbbbbbbbbbbbbbbbb', 'token-b');
  const lookup = lookupOf([a, b]);

  it('routes by E2b-Sandbox-Id and E2b-Sandbox-Port, envd port by default', () => {
    const route = resolveRoute({ method: 'GET', url: '/health', headers: { 'e2b-sandbox-id': a.sandboxId, 'e2b-sandbox-port': '49999' } }, DOMAIN, lookup);
    assert.deepEqual(route, { kind: 'sandbox', sandboxId: a.sandboxId, port: 49999, record: a });
    const envd = resolveRoute({ url: '/v2/sandboxes', headers: { 'e2b-sandbox-id': b.sandboxId } }, DOMAIN, lookup);
    assert.equal(envd.kind === 'sandbox' && envd.port, 49983);
  });

  it('sends requests with a sandbox header to the proxy even on REST paths, unknown ids without a record', () => {
    const route = resolveRoute({ url: '/sandboxes', headers: { 'e2b-sandbox-id': 'inope' } }, DOMAIN, lookup);
    assert.deepEqual(route, { kind: 'sandbox', sandboxId: 'inope', port: 49983, record: undefined });
    const weird = resolveRoute({ url: '/', headers: { 'e2b-sandbox-id': '../etc' } }, DOMAIN, lookup);
    assert.equal(weird.kind === 'sandbox' && weird.record, undefined);
  });

  it('rejects an invalid port header', () => {
    for (const port of ['0', '70000', 'abc', '']) {
      const route = resolveRoute({ url: '/', headers: { 'e2b-sandbox-id': a.sandboxId, 'e2b-sandbox-port': port } }, DOMAIN, lookup);
      assert.equal(route.kind, 'error', port);
    }
  });

  it('routes by Host <port>-<id>.<domain>, with or without a port suffix', () => {
    const route = resolveRoute({ url: '/x', headers: { host: `8080-${a.sandboxId}.${DOMAIN}:3000` } }, DOMAIN, lookup);
    assert.deepEqual(route, { kind: 'sandbox', sandboxId: a.sandboxId, port: 8080, record: a });
    assert.equal(resolveRoute({ url: '/x', headers: { host: `8080-${a.sandboxId}.other.test` } }, DOMAIN, lookup).kind, 'rest');
    assert.equal(resolveRoute({ url: '/v2/sandboxes', headers: { host: '127.0.0.1:3000' } }, DOMAIN, lookup).kind, 'rest');
  });

  it('routes signed /files URLs to the sandbox whose token makes the signature valid', () => {
    const signature = fileSignature({ path: '/home/user/a.txt', operation: 'read', username: '', accessToken: 'token-b' });
    const url = `/files?path=%2Fhome%2Fuser%2Fa.txt&signature=${encodeURIComponent(signature)}`;
    assert.deepEqual(resolveRoute({ method: 'GET', url, headers: {} }, DOMAIN, lookup), { kind: 'sandbox', sandboxId: b.sandboxId, port: 49983, record: b, signedFile: true });
    // the same signature does not grant a write
    assert.equal(resolveRoute({ method: 'POST', url, headers: {} }, DOMAIN, lookup).kind, 'error');
    const expiring = fileSignature({ path: '/a', operation: 'write', username: 'root', accessToken: 'token-a', expiration: 1900000000 });
    const route = resolveRoute(
      { method: 'POST', url: `/files?path=%2Fa&username=root&signature=${encodeURIComponent(expiring)}&signature_expiration=1900000000`, headers: {} },
      DOMAIN,
      lookup,
    );
    assert.equal(route.kind === 'sandbox' && route.sandboxId, a.sandboxId);
  });

  it('refuses a signed /files URL fetched as a service worker script (it would control /dashboard)', () => {
    const signature = fileSignature({ path: '/home/user/sw.js', operation: 'read', username: '', accessToken: 'token-a' });
    const url = `/files?path=%2Fhome%2Fuser%2Fsw.js&signature=${encodeURIComponent(signature)}`;
    assert.equal(resolveRoute({ method: 'GET', url, headers: {} }, DOMAIN, lookup).kind, 'sandbox');
    const route = resolveRoute({ method: 'GET', url, headers: { 'service-worker': 'script' } }, DOMAIN, lookup);
    assert.equal(route.kind, 'error');
    assert.equal(route.kind === 'error' ? route.status : 0, 403);
  });

  it('answers 502 for a signature no running sandbox matches', () => {
    const route = resolveRoute({ method: 'GET', url: '/files?path=%2Fa&signature=v1_bogus', headers: {} }, DOMAIN, lookup);
    assert.equal(route.kind === 'error' && route.status, 502);
  });

  it('never routes an unsigned /files request that names no sandbox, even with one open sandbox', () => {
    const open = record('iopenopenopenopenopen', null);
    const route = resolveRoute({ method: 'GET', url: '/files?path=a', headers: {} }, DOMAIN, lookupOf([a, open]));
    assert.equal(route.kind === 'error' && route.status, 400);
    assert.match(route.kind === 'error' ? route.message : '', /E2b-Sandbox-Id/);
  });
});
