import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SANDBOX_DEFAULT_PATH, SudoFrameType } from '@sandboxd/protocol';
import { DEFAULT_SUDO_SOCKET } from './broker.js';

/** The Python shim the template installs as /usr/bin/sudo (it cannot import the TypeScript contract). */
const shim = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '../../sudo/sudo'), 'utf8');

/** `A, B = 0x01, 0x02` assignments of the shim, by name. */
function pythonConstants(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^([A-Z_][A-Z_, ]*?)\s*=\s*(0x[0-9a-fA-F]+(?:\s*,\s*0x[0-9a-fA-F]+)*)\s*$/gm)) {
    const names = (m[1] ?? '').split(',').map((n) => n.trim());
    const values = (m[2] ?? '').split(',').map((v) => Number.parseInt(v.trim(), 16));
    names.forEach((n, i) => out.set(n, values[i] ?? Number.NaN));
  }
  return out;
}

describe('sudo shim speaks the protocol package contract', () => {
  it('uses the same frame types', () => {
    const consts = pythonConstants(shim);
    for (const [name, value] of Object.entries(SudoFrameType)) assert.equal(consts.get(name), value, `frame type ${name}`);
    assert.equal(consts.size, Object.keys(SudoFrameType).length);
  });

  it("uses the broker's default socket and the agent's PATH as secure_path", () => {
    assert.match(shim, new RegExp(`^DEFAULT_SOCKET = "${DEFAULT_SUDO_SOCKET}"$`, 'm'));
    assert.match(shim, new RegExp(`^SECURE_PATH = "${SANDBOX_DEFAULT_PATH}"$`, 'm'));
  });

  it('frames a header the way the shim packs it (type u8, length u32 big-endian)', () => {
    assert.match(shim, /struct\.pack\(">BI"/);
  });
});
