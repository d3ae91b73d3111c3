import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApiError } from './api-error.js';
import { createApiClient } from './client.js';
import { templateWithBuilds } from './templates.js';

const listed = [{ templateID: 't1', buildID: 'b1', buildStatus: 'ready', updatedAt: '2026-01-01T00:00:00.000Z' }];

function daemon(routes: Record<string, () => Response>) {
  return createApiClient('k', async (url) => (routes[url] ?? (() => Response.json({ code: 404, message: `no route GET ${url}` }, { status: 404 })))());
}

describe('templateWithBuilds', () => {
  it('takes TemplateWithBuilds when the daemon has it', async () => {
    const api = daemon({ '/templates/t1': () => Response.json({ templateID: 't1', builds: [{ buildID: 'b0', status: 'error' }, { buildID: 'b1', status: 'ready' }] }), '/templates': () => Response.json(listed) });
    assert.deepEqual((await templateWithBuilds(api, 't1')).builds?.map((b) => b.buildID), ['b0', 'b1']);
  });

  it('falls back to the list entry and its latest build', async () => {
    const api = daemon({ '/templates': () => Response.json(listed) });
    const t = await templateWithBuilds(api, 't1');
    assert.deepEqual(t.builds, [{ buildID: 'b1', status: 'ready', createdAt: '2026-01-01T00:00:00.000Z' }]);
  });

  it('keeps the 404 of a template that is nowhere, and other errors as they are', async () => {
    await assert.rejects(templateWithBuilds(daemon({ '/templates': () => Response.json(listed) }), 'nope'), (e: unknown) => e instanceof ApiError && e.status === 404);
    const broken = daemon({ '/templates/t1': () => Response.json({ code: 500, message: 'boom' }, { status: 500 }) });
    await assert.rejects(templateWithBuilds(broken, 't1'), (e: unknown) => e instanceof ApiError && e.status === 500);
  });
});
