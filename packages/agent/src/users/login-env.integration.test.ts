import assert from 'node:assert/strict';
import { appendFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loginShellRunner } from '../process/login-shell.js';
import { LoginEnvCache } from './login-env.js';
import type { UserInfo } from './user-db.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await sleep(25);
  }
}

describe('login environment cache (real bash)', () => {
  let home: string;
  let etc: string;
  let cache: LoginEnvCache;
  let runs = 0;
  const user = (): UserInfo => ({ name: 'root', uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, home, shell: '/bin/bash' });
  const env = (): Record<string, string> => ({ PATH: '/usr/bin:/bin', HOME: home, USER: 'root', LOGNAME: 'root' });

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'login-env-home-'));
    etc = await mkdtemp(join(tmpdir(), 'login-env-etc-'));
    await writeFile(join(home, '.profile'), 'export FROM_PROFILE=one\n');
    const run = loginShellRunner({ agentUid: process.getuid?.() ?? 0, setprivPath: undefined });
    cache = new LoginEnvCache({
      etcDir: etc,
      run: (...args) => {
        runs += 1;
        return run(...args);
      },
    });
  });

  after(async () => {
    cache.close();
    await rm(home, { recursive: true, force: true });
    await rm(etc, { recursive: true, force: true });
  });

  it('captures what ~/.profile exports once, then reuses it', async () => {
    const before = runs;
    const first = await cache.get(user(), env());
    assert.equal(first?.['FROM_PROFILE'], 'one');
    assert.equal(first?.['HOME'], home);
    assert.equal(first?.['SHLVL'], undefined);
    assert.equal(first?.['_'], undefined);
    const second = await cache.get(user(), env());
    assert.deepEqual(second, first);
    assert.equal(runs - before, 1);
  });

  it('peek answers without waiting: nothing until the capture of that environment is done, then the same as get', async () => {
    const fresh = { ...env(), PEEKED: 'yes' };
    const before = runs;
    assert.equal(cache.peek(user(), fresh), undefined);
    const later = await eventually(async () => cache.peek(user(), fresh), (e) => e !== undefined);
    assert.equal(later?.['PEEKED'], 'yes');
    assert.equal(later?.['FROM_PROFILE'], 'one');
    assert.deepEqual(later, await cache.get(user(), fresh));
    assert.equal(runs - before, 1);
  });

  it('captures again for another input environment', async () => {
    const other = await cache.get(user(), { ...env(), EXTRA: 'x' });
    assert.equal(other?.['EXTRA'], 'x');
    assert.equal(other?.['FROM_PROFILE'], 'one');
  });

  it('notices a changed ~/.profile', async () => {
    await cache.get(user(), env());
    await appendFile(join(home, '.profile'), 'export FROM_PROFILE=two\n');
    const changed = await eventually(() => cache.get(user(), env()), (e) => e?.['FROM_PROFILE'] === 'two');
    assert.equal(changed?.['FROM_PROFILE'], 'two');
  });

  it('notices ~/.local/bin appearing (the stock ~/.profile puts it on PATH)', async () => {
    await writeFile(join(home, '.profile'), 'if [ -d "$HOME/.local/bin" ]; then PATH="$HOME/.local/bin:$PATH"; fi\n');
    await eventually(() => cache.get(user(), env()), (e) => e !== undefined && !e['PATH']?.includes('.local'));
    await mkdir(join(home, '.local'));
    await eventually(() => cache.get(user(), env()), (e) => e !== undefined);
    await mkdir(join(home, '.local', 'bin'));
    const later = await eventually(() => cache.get(user(), env()), (e) => e?.['PATH']?.startsWith(join(home, '.local/bin')) === true);
    assert.ok(later?.['PATH']?.startsWith(join(home, '.local/bin')), later?.['PATH']);
  });

  it('notices a new file in profile.d of the watched etc directory', async () => {
    await cache.get(user(), env());
    const before = runs;
    await mkdir(join(etc, 'profile.d'));
    await sleep(100);
    await cache.get(user(), env());
    await writeFile(join(etc, 'profile.d', 'x.sh'), '');
    await eventually(async () => {
      await cache.get(user(), env());
      return runs;
    }, (n) => n >= before + 2);
    assert.ok(runs >= before + 2);
  });

  it('does not stand in for startup files that print (or fail)', async () => {
    for (const bad of ['echo welcome\n', 'echo oops >&2\n', 'exit 4\n']) {
      await writeFile(join(home, '.profile'), 'export GOOD=1\n');
      assert.equal((await eventually(() => cache.get(user(), env()), (e) => e?.['GOOD'] === '1'))?.['GOOD'], '1');
      await writeFile(join(home, '.profile'), bad);
      assert.equal(await eventually(() => cache.get(user(), env()), (e) => e === undefined), undefined, bad);
    }
  });
});
