import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { SandboxRecord } from '../../sandboxes/sandbox-record.js';
import { applyListQuery } from '../../sandboxes/list-query.js';
import { parseListQuery, parseMetadataFilter, parseStartedAfter, parseStates } from './list-params.js';

/** The JS SDK: encodeURIComponent per key/value, URLSearchParams, then the query serializer. */
function jsSdkQuery(metadata: Record<string, string>): URLSearchParams {
  const pairs = Object.fromEntries(Object.entries(metadata).map(([k, v]) => [encodeURIComponent(k), encodeURIComponent(v)]));
  return new URL(`http://x/v2/sandboxes?metadata=${encodeURIComponent(new URLSearchParams(pairs).toString())}`).searchParams;
}

/** Python: urllib.parse.quote per key/value, joined, then urlencode. */
function pythonQuery(metadata: Record<string, string>): URLSearchParams {
  const joined = Object.entries(metadata).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&');
  return new URLSearchParams({ metadata: joined });
}

function record(id: string, startedAt: number, metadata: Record<string, string> = {}, templateAlias = 'base'): SandboxRecord {
  return {
    sandboxId: id, templateId: `t-${templateAlias}`, templateAlias, rootfsPath: '/r', metadata, envVars: {}, accessToken: null,
    address: '127.0.0.9', limits: { memoryMB: 1, cpuCount: 1, pidsLimit: 1, diskSizeMB: 1 },
    egress: { allowInternetAccess: true, allowOut: [], denyOut: [] }, startedAt, endAt: startedAt + 1000, state: 'running',
  };
}

describe('list query', () => {
  it('decodes the triple-encoded metadata filter of the JS SDK', () => {
    const wanted = { 'user id': 'a&b=c', path: '/x y%z+', emoji: 'ü' };
    const query = parseListQuery(jsSdkQuery(wanted));
    assert.deepEqual(query.metadata, wanted);
    assert.deepEqual(parseMetadataFilter(new URL('http://x/?metadata=a%3Db%252520c').searchParams.get('metadata')!), { a: 'b c' });
  });

  it('decodes the double-encoded metadata filter of the Python SDK (values without &, =, % and +, as at E2B)', () => {
    const wanted = { 'user id': 'a b/c', k: 'v-v' };
    assert.deepEqual(parseListQuery(pythonQuery(wanted)).metadata, wanted);
  });

  it('accepts state as CSV and as repeated parameters, default both', () => {
    assert.deepEqual(parseStates(['running,paused']), ['running', 'paused']);
    assert.deepEqual(parseStates(['running', 'paused']), ['running', 'paused']);
    assert.deepEqual(parseStates([]), ['running', 'paused']);
    assert.throws(() => parseStates(['runing']), /state filter/);
  });

  it('validates limit, order, startedAfter and nextToken', () => {
    for (const bad of ['limit=0', 'limit=101', 'limit=abc', 'limit=1.5', 'order=up', 'startedAfter=yesterday']) {
      assert.throws(() => parseListQuery(new URLSearchParams(bad)), /must/, bad);
    }
    assert.equal(parseListQuery(new URLSearchParams('limit=100')).limit, 100);
    assert.equal(parseListQuery(new URLSearchParams()).limit, 100);
    const q = parseListQuery(new URLSearchParams('nextToken=garbage'));
    assert.throws(() => applyListQuery([], q), /nextToken/);
  });

  it('pages through sandboxes newest first without repeats or gaps', () => {
    const all = Array.from({ length: 7 }, (_, i) => record(`i${String(i).padStart(20, '0')}`, 1000 + Math.floor(i / 2)));
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const params = new URLSearchParams({ limit: '3' });
      if (token !== undefined) params.set('nextToken', token);
      const page = applyListQuery(all, parseListQuery(params));
      seen.push(...page.items.map((r) => r.sandboxId));
      token = page.nextToken;
      pages++;
    } while (token !== undefined);
    assert.equal(pages, 3);
    const expected = [...all].sort((a, b) => b.startedAt - a.startedAt || (a.sandboxId < b.sandboxId ? 1 : -1)).map((r) => r.sandboxId);
    assert.deepEqual(seen, expected);
  });

  it('filters by metadata, state, template and startedAfter', () => {
    const all = [record('ia', 1000, { a: '1' }), record('ib', 2000, { a: '1', b: '2' }), record('ic', 3000, {}, 'code-interpreter-v1')];
    const ids = (qs: string) => applyListQuery(all, parseListQuery(new URLSearchParams(qs))).items.map((r) => r.sandboxId);
    assert.deepEqual(ids('metadata=a%3D1'), ['ib', 'ia']);
    assert.deepEqual(ids('metadata=a%3D1%26b%3D2'), ['ib']);
    assert.deepEqual(ids('state=paused'), []);
    assert.deepEqual(ids('state=running&order=asc'), ['ia', 'ib', 'ic']);
    assert.deepEqual(ids('template=code-interpreter-v1'), ['ic']);
    assert.deepEqual(ids('template=t-base'), ['ib', 'ia']);
    assert.deepEqual(ids(`startedAfter=${new Date(1500).toISOString()}`), ['ic', 'ib']);
    // Inclusive, as E2B ("started at or after"): a sandbox started exactly at T is listed.
    assert.deepEqual(ids(`startedAfter=${new Date(2000).toISOString()}`), ['ic', 'ib']);
    assert.deepEqual(ids(`startedAfter=${new Date(2001).toISOString()}`), ['ic']);
    assert.deepEqual(ids(`startedAfter=${new Date(3000).toISOString()}&order=asc`), ['ic']);
    // Python's isoformat(): microseconds and an offset; a sub-millisecond excess excludes a start at that millisecond.
    assert.deepEqual(ids('startedAfter=1970-01-01T00:00:02.000000%2B00:00'), ['ic', 'ib']);
    assert.deepEqual(ids('startedAfter=1970-01-01T00:00:02.000001%2B00:00'), ['ic']);
    assert.deepEqual(ids('startedAfter=1970-01-01T00:00:02.000999999Z'), ['ic']);
    assert.equal(parseStartedAfter('1970-01-01T00:00:02.0009+00:00'), 2001);
    assert.equal(parseStartedAfter('1970-01-01T00:00:02+00:00'), 2000);
    // E2B has no startedBefore: it is ignored, not an error.
    assert.deepEqual(ids(`startedBefore=${new Date(1500).toISOString()}`), ['ic', 'ib', 'ia']);
  });
});
