import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildLog } from './build-log.js';

describe('BuildLog', () => {
  it('reads from an offset, at most limit entries, never more than 100', () => {
    const log = new BuildLog(() => new Date('2026-01-01T00:00:00Z'));
    for (let i = 0; i < 250; i++) log.add('info', `line ${i}`, '1');
    assert.deepEqual(log.read(0, 3).map((e) => e.message), ['line 0', 'line 1', 'line 2']);
    assert.deepEqual(log.read(248).map((e) => e.message), ['line 248', 'line 249']);
    assert.equal(log.read(0, 1000).length, 100);
    assert.equal(log.read(250).length, 0);
    assert.equal(log.read(0)[0]?.timestamp, '2026-01-01T00:00:00.000Z');
  });

  it('keeps what an offset refers to as entries are added (the SDK adds what it got to its offset)', () => {
    const log = new BuildLog();
    log.add('info', 'a');
    log.add('info', 'b');
    let offset = 0;
    const seen: string[] = [];
    for (const batch of [log.read(offset)]) {
      seen.push(...batch.map((e) => e.message));
      offset += batch.length;
    }
    log.add('info', 'c');
    seen.push(...log.read(offset).map((e) => e.message));
    assert.deepEqual(seen, ['a', 'b', 'c']);
  });

  it('filters by level and above', () => {
    const log = new BuildLog();
    log.add('debug', 'd');
    log.add('info', 'i');
    log.add('warn', 'w');
    log.add('error', 'e');
    assert.deepEqual(log.read(0, 100, 'warn').map((e) => e.message), ['w', 'e']);
    assert.deepEqual(log.read(0, 100, 'debug').map((e) => e.message), ['d', 'i', 'w', 'e']);
  });

  it('gives a step its last lines and tells listeners about each entry', () => {
    const log = new BuildLog();
    const heard: string[] = [];
    const off = log.onEntry((e) => heard.push(e.message));
    for (let i = 0; i < 30; i++) log.add('info', `s${i}`, i % 2 === 0 ? '1' : '2');
    off();
    log.add('info', 'after');
    assert.equal(heard.length, 30);
    assert.deepEqual(log.tail('2', 2).map((e) => e.message), ['s27', 's29']);
    assert.equal(log.read(0, 100).find((e) => e.message === 's0')?.step, '1');
  });
});
