import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseStat } from './usage.js';
import { parsePasswd } from './user.js';

describe('/proc and /etc/passwd parsing', () => {
  it('reads ppid, cpu ticks and rss from /proc/<pid>/stat, even with odd command names', () => {
    const fields = ['S', '7', ...Array.from({ length: 40 }, (_, i) => String(i + 5))];
    // fields 14..17 are utime, stime, cutime, cstime; field 24 is rss
    const text = `123 (we (ird) name) ${fields.join(' ')}`;
    const stat = parseStat(text)!;
    assert.equal(stat.ppid, 7);
    assert.equal(stat.cpuTicks, 14 + 15 + 16 + 17);
    assert.equal(stat.rssPages, 24);
  });

  it('finds a user in /etc/passwd', () => {
    const passwd = 'root:x:0:0:root:/root:/bin/bash\nuser:x:1000:1000::/home/user:/bin/bash\n';
    assert.deepEqual(parsePasswd(passwd, 'user'), { uid: 1000, gid: 1000, home: '/home/user', shell: '/bin/bash' });
    assert.equal(parsePasswd(passwd, 'nobody'), undefined);
  });
});
