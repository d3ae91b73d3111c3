import assert from 'node:assert/strict';
import { test } from 'node:test';
import { trafficTokenFailure } from './traffic-token.js';

const secured = { sandboxId: 'sbx1', ingress: { trafficAccessToken: 'tok-123', maskRequestHost: null } };

test('a sandbox with public traffic, or envd on any sandbox, needs no traffic token', () => {
  assert.equal(trafficTokenFailure({ sandboxId: 'a', ingress: { trafficAccessToken: null, maskRequestHost: null } }, 8080, undefined), undefined);
  assert.equal(trafficTokenFailure({ sandboxId: 'a' }, 8080, undefined), undefined);
  assert.equal(trafficTokenFailure(secured, 49983, undefined), undefined);
});

test('other ports of a secured sandbox: 403 in E2B shape when missing or wrong, pass when right', () => {
  const missing = trafficTokenFailure(secured, 8080, undefined);
  assert.equal(missing?.status, 403);
  assert.deepEqual(JSON.parse(missing!.body), {
    sandboxId: 'sbx1',
    message: "Sandbox is secured with traffic access token. Token header 'e2b-traffic-access-token' is missing",
    code: 403,
  });
  const wrong = trafficTokenFailure(secured, 49999, 'tok-124');
  assert.match(JSON.parse(wrong!.body).message, /is invalid/);
  assert.equal(trafficTokenFailure(secured, 49999, 'tok-123'), undefined);
  assert.equal(trafficTokenFailure(secured, 3000, ['tok-123']), undefined);
});
