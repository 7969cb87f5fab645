// The libc seam (lib/platform/libc.ts): the runtime's own FFI where it has one, koffi elsewhere and
// under MPKIT_FFI=koffi. Both must give the same answers, and koffi's native module must not load
// where it is not needed: it cost some 10 ms of every child's start.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as mp from 'mpkit';
import * as targets from '../fixtures/targets.ts';

const g = globalThis as { Bun?: unknown; Deno?: unknown };
const [major, minor] = process.versions.node.split('.').map(Number);
const module = new URL('../fixtures/targets.ts', import.meta.url);
const hasOwnFfi = !!g.Bun || !!g.Deno || major > 26 || (major === 26 && minor >= 1);

for (const ffi of ['native', 'koffi'] as const) {
  test(`two processes contending for one lock keep an exact count, FFI ${ffi}`, async () => {
    const value = mp.Value('i', 0), seen = mp.Array('i', [-1, -1]);
    if (ffi === 'koffi') process.env.MPKIT_FFI = 'koffi';
    const procs = [0, 1].map((i) => new mp.Process({ target: targets.countUnderLock, args: [value, 20_000, seen, i], module }));
    try {
      for (const p of procs) p.start();
    } finally {
      delete process.env.MPKIT_FFI;
    }
    for (const p of procs) await p.join(120);
    assert.equal(procs.map((p) => p.exitCode), [0, 0]);
    assert.is(value.value, 40_000);
    const koffi = ffi === 'koffi' || !hasOwnFfi;
    assert.equal([...seen], koffi ? [1, 1] : [0, 0], koffi ? 'koffi did the calls' : 'the runtime\'s own FFI did: koffi never loaded');
  });
}

test.run();
