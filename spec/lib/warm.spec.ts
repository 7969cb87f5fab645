// The warm start method (warm.ts): a spare booted ahead becomes the child, which must be what a
// spawned child would have been: its own pid, fresh globals, the starter's environment and working
// directory at start(), and a spawn where a spare cannot be that child faithfully.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mp from 'mpkit';
import * as targets from '../fixtures/targets.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);
const warm = mp.getContext('warm');
const here = (globalThis as { Bun?: unknown; Deno?: unknown }).Bun ? 'bun' : (globalThis as { Deno?: unknown }).Deno ? 'deno' : 'node';

test('start methods: Python names, set once unless forced, unknown ones refused', () => {
  assert.equal(mp.getAllStartMethods(), ['spawn', 'warm']);
  assert.is(mp.getStartMethod(true), null, 'none set yet');
  assert.is(mp.getStartMethod(), 'warm', 'the default: faster on every runtime, measured, at some 55 MB per idle spare');
  assert.throws(() => mp.setStartMethod('fork' as never), /Unknown start method "fork": use spawn or warm/);
  assert.throws(() => mp.getContext('fork' as never), /Unknown start method/);
  assert.throws(() => new mp.Process({ target: targets.square, args: [1], startMethod: 'forkserver' as never }), /Unknown start method/);
  mp.setStartMethod('spawn');
  assert.throws(() => mp.setStartMethod('warm'), /already set \(to "spawn"\): pass \{ force: true \}/);
  mp.setStartMethod(null, { force: true });
  assert.is(mp.getStartMethod(true), null);
  assert.throws(() => mp.setStartMethod('warm', { force: true, spares: { processes: -1 } }), /spares.processes is a whole number/);
  mp.setStartMethod(null, { force: true });
  assert.is(warm.startMethod, 'warm');
  assert.is(mp.getContext('warm'), warm, 'one context per method');
});

test('a warm process is the spare that waited: its own pid, fresh globals, and the environment of start() time', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'warm-cwd-')), cwd = process.cwd();
  try {
    for (const [i, where] of [cwd, dir].entries()) {
      process.chdir(where);
      assert.ok(await warm.warmUp(60), 'spares boot where the program is');
      const [spare] = warm.idle().processes;
      assert.ok(spare > 0, 'a spare process waits');
      process.env.MPKIT_TEST_ENV = String(10 + i); // set after the spare booted
      const out = mp.Array('i', 4);
      const p = new warm.Process({ target: targets.reportStart, args: [out], module });
      p.start();
      delete process.env.MPKIT_TEST_ENV;
      await p.join(60);
      assert.is(p.exitCode, 0);
      assert.is(p.pid, spare, 'the spare became the process');
      assert.equal([...out], [1, spare, 10 + i, where.length], 'fresh globals each time, and the environment start() saw');
      assert.not.ok(warm.idle().processes.includes(spare), 'a spare runs one target only');
    }
  } finally {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a start a spare cannot take faithfully spawns instead: another runtime, directory, or boot option', async () => {
  assert.ok(await warm.warmUp(60));
  const [spare] = warm.idle().processes;
  const other = here === 'node' ? 'bun' : 'node';
  const out = mp.Array('i', 4);
  const onOther = new warm.Process({ target: targets.reportStart, args: [out], module, runtime: other });
  onOther.start();
  await onOther.join(60);
  assert.is(onOther.exitCode, 0);
  assert.ok(onOther.pid !== spare && out[1] === onOther.pid, `${other} was spawned`);
  assert.equal(warm.idle().processes, [spare], 'the spare still waits');
  const cwd = process.cwd();
  process.chdir(tmpdir()); // runtimes read their configuration from where they start
  try {
    const p = new warm.Process({ target: targets.reportStart, args: [out], module });
    p.start();
    await p.join(60);
    assert.is(p.exitCode, 0);
    assert.ok(p.pid !== spare && out[3] === tmpdir().length, 'spawned in the new directory');
  } finally { process.chdir(cwd); }
  assert.ok(await warm.warmUp(60));
  const [again] = warm.idle().processes;
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ''} --max-old-space-size=3000`.trim();
  try {
    const p = new warm.Process({ target: targets.reportStart, args: [out], module });
    p.start();
    await p.join(60);
    assert.is(p.exitCode, 0);
    assert.ok(p.pid !== again, 'NODE_OPTIONS changed since the spare booted: spawned');
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
});

test('a warm thread runs in a spare Worker with fresh globals each time; a thread error still reaches the excepthook', async () => {
  for (let i = 0; i < 2; i++) {
    assert.ok(await warm.warmUp(60));
    // Deno reports an unref'd Worker's end ~60 ms late, more than a spare saves: threads spawn there (warm.ts).
    assert.is(warm.idle().threads, here === 'deno' ? 0 : 1);
    const out = mp.Array('i', 4);
    const t = new warm.Thread({ target: targets.reportStart, args: [out], module });
    t.start();
    await t.join(60);
    assert.equal([out[0], out[1]], [1, process.pid], 'a fresh thread of this process');
  }
  const { setExcepthook } = await import('mpkit/threading');
  const seen: string[] = [];
  const previous = setExcepthook(({ excType }) => seen.push(excType));
  try {
    const t = new warm.Thread({ target: targets.throwRange, args: [1], module });
    t.start();
    await t.join(60);
  } finally { setExcepthook(previous); }
  assert.equal(seen, ['RangeError']);
});

test('setStartMethod("warm") makes it the default; spares: 0 keeps none', async () => {
  mp.setStartMethod('warm', { force: true });
  try {
    assert.is(mp.getStartMethod(), 'warm');
    const out = mp.Array('i', 4);
    const p = new mp.Process({ target: targets.reportStart, args: [out], module });
    p.start();
    await p.join(60);
    assert.is(p.exitCode, 0);
    mp.setStartMethod('warm', { force: true, spares: { processes: 0, threads: 0 } });
    assert.equal(warm.idle(), { processes: [], threads: 0 }, 'idle spares ended');
  } finally {
    mp.setStartMethod(null, { force: true, spares: { processes: 1, threads: 1 } });
  }
});

test.run();
