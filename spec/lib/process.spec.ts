import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as mp from 'mpkit';
import { Thread, Timer, currentThread, mainThread } from 'mpkit/threading';
import * as targets from '../fixtures/targets.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function run<A extends unknown[]>(target: (...args: A) => unknown, args: A) {
  const p = new mp.Process({ target, args, module });
  p.start();
  await p.join(20);
  return p;
}

test('a child process writes shared memory the parent reads', async () => {
  const v = mp.Value('i', 0);
  const p = await run(targets.setTo, [v, 41]);
  assert.is(p.exitCode, 0);
  assert.is(v.value, 41);
  assert.not.ok(p.isAlive());
  assert.is(mp.activeChildren().length, 0);
});

test('a large array gets a segment of its own and is still shared', async () => {
  const big = mp.Array('i', 20_000);
  const p = new mp.Process({ target: 'setLast', args: [big, 77], module: module.pathname });
  p.start();
  await p.join(20);
  assert.is(p.exitCode, 0);
  assert.is(big.get(19_999), 77);
});

test('a child knows its parent; the main process has none', async () => {
  const v = mp.Value('i', 0);
  await run(targets.report, [v]);
  assert.is(v.value, process.pid);
  assert.is(mp.parentProcess(), null);
  assert.is(mp.currentProcess().name, 'MainProcess');
});

test('daemon is set before start(): on a started process or thread it throws, as in Python', async () => {
  const v = mp.Value('i', 0);
  for (const worker of [new mp.Process({ target: targets.setTo, args: [v, 1], module }), new Thread({ target: targets.setTo, args: [v, 2], module })]) {
    worker.daemon = true;
    assert.ok(worker.daemon);
    worker.start();
    assert.throws(() => { worker.daemon = false; }, /Cannot set daemon on a (process|thread) that has started: set it before start\(\)/);
    await worker.join(30);
  }
});

test('a child process waits for its non-daemon threads before it exits, as CPython does; activeCount and enumerate see them', async () => {
  const event = new mp.Event();
  const p = new mp.Process({ target: targets.startSetterThread, args: [event], module });
  p.start();
  await p.join(60);
  assert.is(p.exitCode, 0);
  assert.ok(event.isSet(), 'the thread the target started finished before the process ended');
  const { activeCount, enumerate } = await import('mpkit/threading');
  const done = new mp.Event();
  const t = new Thread({ target: targets.waitFor, args: [done], module });
  t.start();
  assert.is(activeCount(), 2);
  assert.equal(enumerate(), [t]);
  done.set();
  await t.join(30);
  assert.is(activeCount(), 1);
});

test('a child process waits for its non-daemon child processes before it exits, as CPython does', async () => {
  const event = new mp.Event();
  const p = new mp.Process({ target: targets.startSetterAndReturn, args: [event, 300], module });
  p.start();
  await p.join(60);
  assert.is(p.exitCode, 0);
  assert.ok(event.isSet(), 'the grandchild had finished when the child exited');
});

test('parentProcess() in a child, its thread and a grandchild: alive while it runs, and join() waits for its end', async () => {
  assert.is(mp.parentProcess(), null, 'the main process has none');
  const seen = mp.Array('i', 5), looked = new mp.Event();
  const mainThread = new Thread({ target: targets.threadSeesParent, args: [seen, 4, 0], module });
  mainThread.start();
  await mainThread.join(60);
  const p = new mp.Process({ target: targets.watchParents, args: [seen, looked], module });
  p.start();
  assert.ok(await looked.waitAsync(60));
  p.kill(); // it would wait for its non-daemon grandchild, which waits for it to end
  await p.join(60);
  for (let i = 0; i < 1200 && seen[2] === 0; i++) await new Promise((r) => setTimeout(r, 50)); // the grandchild outlives its parent
  assert.equal([...seen], [1, 1, 1, 1, 1], 'a thread has the parent of its process: none in the main process');
});

test('Timer calls its target after the interval unless cancelled first; local() data is per thread', async () => {
  const v = mp.Value('i', 0);
  const fires = new Timer(0.05, targets.setTo, { args: [v, 5], module });
  fires.start();
  await fires.join(30);
  assert.is(v.value, 5);
  const cancelled = new Timer(30, targets.setTo, { args: [v, 9], module });
  cancelled.start();
  cancelled.cancel();
  await cancelled.join(30);
  assert.is(v.value, 5, 'a cancelled timer never calls its target');
  targets.perThread.owner = 'the main thread';
  const seen = mp.Value('i', 0);
  const t = new Thread({ target: targets.seesOwnLocal, args: [seen], module });
  t.start();
  await t.join(30);
  assert.is(seen.value, 1);
  assert.is(targets.perThread.owner, 'the main thread');
});

test('a subclass of Process that overrides run() runs it in the child, with its fields and its own pid', async () => {
  const out = mp.Array('i', 3);
  const p = new targets.Doubler(21, out);
  p.start();
  await p.join(30);
  assert.is(p.exitCode, 0);
  assert.equal([...out], [42, 1, 1]);
  assert.throws(() => new mp.Process({} as never), /needs a target.*or a subclass of Process that overrides run\(\)/);
  const unsendable = new targets.Doubler(1, out) as targets.Doubler & { callback?: () => void };
  unsendable.callback = () => {};
  assert.throws(() => unsendable.start(), /Doubler's fields\.callback/);
  assert.not.ok(unsendable.isAlive(), 'nothing was started');
  // run() called in this process runs the target here, as CPython's does.
  const here = new mp.Process({ target: targets.setTo, args: [mp.Value('i', 0), 7], module });
  const v = mp.Value('i', 0);
  new mp.Process({ target: targets.setTo, args: [v, 7], module }).run();
  assert.is(v.value, 7);
  assert.is(here.pid, undefined);
});

test('an exception in a thread goes to the excepthook, which can be replaced and restored; the default prints the name and stack', async () => {
  const { setExcepthook, excepthook } = await import('mpkit/threading');
  const seen: string[] = [];
  const previous = setExcepthook(({ excType, excValue, thread }) => {
    seen.push(`${thread.name} ${excType} ${(excValue as Error).message} ${excValue instanceof RangeError} ${/throwRange/.test((excValue as Error).stack ?? '')}`);
  });
  try {
    const t = new Thread({ target: targets.throwRange, args: [5], name: 'ranger', module });
    t.start();
    await t.join(30);
    assert.equal(seen, ['ranger RangeError out of range: 5 true true'], 'the hook ran before join() returned');
    setExcepthook(() => { throw new Error('hook failed'); });
    const printed: unknown[][] = [], error = console.error;
    console.error = (...a: unknown[]) => { printed.push(a); };
    try {
      const t2 = new Thread({ target: targets.throwRange, args: [6], name: 'second', module });
      t2.start();
      await t2.join(30);
    } finally { console.error = error; }
    assert.match(String(printed[0]?.[0]), /Exception in threading.excepthook, for thread second/);
  } finally {
    assert.is(setExcepthook(previous).name !== 'excepthook', true);
  }
  assert.is(setExcepthook(null), excepthook, 'null restores the default');
  assert.throws(() => setExcepthook('print' as never), /excepthook is a function/);
});

test('an exception in the child exits 1', async () => {
  const p = await run(targets.fail, ['expected failure from a spec']);
  assert.is(p.exitCode, 1);
});

test('a target the child cannot find exits 1', async () => {
  const p = new mp.Process({ target: 'notAFunction', module });
  p.start();
  await p.join(20);
  assert.is(p.exitCode, 1);
});

test('terminate and kill give negative signal numbers, as in Python', async () => {
  const lock = new mp.Lock();
  const flag = mp.Value('i', 0);
  for (const [how, code] of [['terminate', -15], ['kill', -9]] as const) {
    const p = new mp.Process({ target: targets.holdLock, args: [lock, flag], module, name: `holder-${how}` });
    p.start();
    assert.ok(p.isAlive());
    assert.is(p.name, `holder-${how}`);
    while (flag.value === 0) await sleep(5);
    p[how]();
    await p.join(10);
    assert.is(p.exitCode, code);
    flag.value = 0;
    assert.ok(lock.acquire({ blocking: false }), 'the dead owner\'s lock is taken over, without waiting');
    assert.ok(lock.ownerDied);
    lock.release();
  }
});

test('a child runs on the runtime asked for, whatever the parent runs on', async () => {
  for (const [runtime, id] of [['node', 1], ['deno', 2], ['bun', 3]] as const) {
    const v = mp.Value('i', 0);
    const p = new mp.Process({ target: targets.whichRuntime, args: [v], module, runtime });
    p.start();
    await p.join(60);
    assert.is(p.exitCode, 0, `${runtime} child exit code`);
    assert.is(v.value, id, `the child ran on ${runtime}`);
  }
  assert.throws(() => new mp.Process({ target: 'setTo', runtime: 'python' as 'node' }), /Unknown runtime "python": use node, deno, bun/);
});

test('arguments far past the 128 KiB an environment string may hold still arrive', async () => {
  const numbers = Array.from({ length: 200_000 }, (_, i) => i);
  const out = mp.Value('d', 0);
  const p = await run(targets.sumInto, [numbers, out]);
  assert.is(p.exitCode, 0);
  assert.is(out.value, (199_999 * 200_000) / 2);
  assert.equal(readdirSync(tmpdir()).filter((f) => f.startsWith(`mpkit-spawn-${process.pid}-`)), [], 'the hand-over file is removed');
});

test('misuse is refused with a sentence', async () => {
  assert.throws(() => new mp.Process({} as never), /needs a target/);
  const anonymous = [() => {}][0];
  assert.throws(() => new mp.Process({ target: anonymous }).start(), /named function exported/);
  const p = new mp.Process({ target: targets.setTo, args: [mp.Value('i'), 1], module });
  let joinError: unknown;
  await p.join().catch((e) => { joinError = e; });
  assert.match(String(joinError), /not started/);
  assert.throws(() => p.kill(), /not started/);
  p.start();
  assert.throws(() => p.start(), /twice/);
  await p.join();
});

test('lock: non-blocking, timeouts, release of an unlocked lock', async () => {
  const lock = new mp.Lock();
  assert.ok(lock.acquire());
  assert.not.ok(lock.acquire({ blocking: false }));
  const started = performance.now();
  assert.not.ok(lock.acquire({ timeout: 0.05 }));
  assert.ok(performance.now() - started >= 45);
  assert.not.ok(await lock.acquireAsync({ timeout: 0.05 }));
  assert.not.ok(await lock.acquireAsync({ blocking: false }));
  assert.throws(() => lock.hold({ timeout: 0.01 }), /Timed out/);
  lock.release();
  assert.throws(() => lock.release(), /unlocked/);
  {
    using held = lock.hold();
    assert.ok(lock.locked());
  }
  assert.not.ok(lock.locked());
});

test('lock: an async waiter wakes when another thread releases', async () => {
  const lock = new mp.Lock();
  lock.acquire();
  const waiting = lock.acquireAsync({ timeout: 5 });
  await sleep(30);
  lock.release();
  assert.ok(await waiting);
  lock[Symbol.dispose]();
});

test('threads share the pid and shared memory', async () => {
  const v = mp.Value('i', 0);
  const t = new Thread({ target: targets.setTo, args: [v, 9], module, name: 'setter' });
  assert.is(t.ident, undefined);
  t.start();
  assert.ok(t.isAlive());
  await t.join(20);
  assert.is(v.value, 9);
  assert.is(t.name, 'setter');
  assert.not.ok(t.isAlive());
  assert.equal(currentThread(), mainThread());
  assert.throws(() => t.start(), /twice/);
});

test('Value and Array: typecodes, raw forms, locks, bad input', () => {
  const a = mp.Array('d', 3);
  a[1] = 2.5;
  assert.equal([...a], [0, 2.5, 0]);
  assert.is(String(a), '[0, 2.5, 0]');
  assert.throws(() => a.get(3), /out of range/);
  assert.throws(() => mp.Array('i', -1), /whole number/);
  assert.throws(() => mp.Value('z' as 'i'), /Unknown typecode/);
  assert.throws(() => mp.RawValue('i', 1).getLock(), /without a lock/);
  assert.throws(() => mp.RawArray('i', [1]).getLock(), /without a lock/);
  const shared = new mp.Lock();
  const v = mp.Value('h', 3, { lock: shared });
  assert.is(String(v), "Value('h', 3)");
  v.getLock().acquire();
  assert.ok(shared.locked(), 'the lock given is the lock used');
  v.getLock().release();
  assert.is(v.getLock(), shared, 'getLock() returns that very object, as in CPython');
  assert.is(mp.Array('i', 2, { lock: shared }).getLock(), shared);
  assert.ok(mp.Array('i', [1, 2]).getLock() instanceof mp.RLock, 'an RLock by default, as in CPython');
  const big = mp.Array('Q', [1n, 2n ** 63n]);
  assert.is(big[1], 2n ** 63n);
  assert.ok(mp.cpuCount() >= 1);
});

test('a segment is removed when its creator is killed', async () => {
  const out = mp.Array('B', 1);
  const p = new mp.Process({ target: targets.createAndHang, args: [out], module });
  p.start();
  while (out[0] === 0) await sleep(5);
  // A segment's name carries its creator's pid: these are the child's, whatever else runs meanwhile.
  const own = () => readdirSync('/dev/shm').filter((n) => n.startsWith(`mpkit_${p.pid}_`)).length;
  assert.is(own(), 1, 'the child made its own segment');
  p.kill();
  await p.join();
  for (let i = 0; i < 100 && own() > 0; i++) await sleep(20);
  assert.is(own(), 0);
});

test('daemons end with a parent that is killed outright: a pool worker and a daemon process', async () => {
  const pids = mp.Array('i', 4);
  const parent = new mp.Process({ target: targets.startDaemonsThenDie, args: [pids], module });
  parent.start();
  await parent.join(60);
  assert.is(parent.exitCode, -9);
  const started = pids.toArray().filter((pid) => pid > 0);
  assert.is(started.length, 2, 'one pool worker and one daemon');
  const alive = () => started.filter((pid) => { try { process.kill(pid, 0); return true; } catch { return false; } });
  for (let i = 0; i < 150 && alive().length; i++) await sleep(20);
  assert.equal(alive(), [], 'no daemon outlived its parent by 3 s');
});

test('a process started while a child imports its module (no isMain guard) is refused there, and no chain follows', async () => {
  const p = new mp.Process({ target: 'work', module: new URL('../fixtures/no_guard.ts', import.meta.url) });
  p.start();
  await p.join(30);
  assert.is(p.exitCode, 1, 'the child failed at once rather than start a child of its own');
});

test.run();
