import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as mp from 'mpkit';
import { Thread } from 'mpkit/threading';
import * as targets from '../fixtures/targets.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function start<A extends unknown[]>(target: (...args: A) => unknown, args: A, kind: 'process' | 'thread' = 'process') {
  const p = kind === 'process' ? new mp.Process({ target, args, module }) : new Thread({ target, args, module });
  p.start();
  return p;
}

test('RLock: the owner takes it again; others cannot; only the owner releases', async () => {
  const r = new mp.RLock();
  assert.ok(r.acquire());
  assert.ok(r.acquire());
  const out = mp.Value('i', -1);
  await start(targets.tryLock, [r, out], 'thread').join(20);
  assert.is(out.value, 0, 'another thread cannot take a held RLock');
  await start(targets.tryLock, [r, out], 'process').join(20);
  assert.is(out.value, 0, 'another process cannot take it either');
  r.release();
  assert.ok(r.locked(), 'still held once');
  r.release();
  assert.not.ok(r.locked());
  assert.throws(() => r.release(), /does not hold/);
  {
    using _outer = r.hold();
    using _inner = r.hold();
  }
  assert.not.ok(r.locked());
  await start(targets.tryLock, [r, out], 'process').join(20);
  assert.is(out.value, 1, 'free again, so a child takes it');
});

test('a thread that ends holding a lock does not deadlock the others', async () => {
  const lock = new mp.Lock();
  await start(targets.takeAndEnd, [lock], 'thread').join(20);
  assert.ok(lock.locked(), 'the thread ended holding it');
  // join() can return a moment before the thread's OS thread is gone (Deno): a waiter sees it go.
  assert.ok(lock.acquire({ timeout: 10 }), 'taken over once the owner thread is gone');
  assert.ok(lock.ownerDied);
  lock.release();
  assert.ok(lock.acquire({ blocking: false }));
  assert.not.ok(lock.ownerDied, 'reset by the next acquire');
  lock.release();
});

test('Value guards with an RLock, so nested holds do not deadlock', () => {
  const v = mp.Value('i', 0);
  using _a = v.getLock().hold();
  using _b = v.getLock().hold({ timeout: 1 });
  v.value += 1;
  assert.is(v.value, 1);
});

test('Semaphore: never more holders than its value, across processes', async () => {
  const sem = new mp.Semaphore(2);
  const counts = mp.Array('i', 2); // holders now, most holders seen
  const children = [1, 2, 3].map(() => start(targets.crowd, [sem, counts, 15]));
  await Promise.all(children.map((c) => c.join(30)));
  assert.equal(children.map((c) => (c as mp.Process).exitCode), [0, 0, 0]);
  assert.is(counts[0], 0);
  assert.ok(counts[1] >= 1 && counts[1] <= 2, `at most 2 at once, saw ${counts[1]}`);
  assert.is(sem.getValue(), 2);
});

test('Semaphore: blocking, timeouts, async wake-up, bounded release', async () => {
  const sem = new mp.Semaphore(1);
  assert.ok(sem.acquire());
  assert.not.ok(sem.acquire({ blocking: false }));
  assert.not.ok(sem.acquire({ timeout: 0.02 }));
  const waiting = sem.acquireAsync({ timeout: 5 });
  await sleep(20);
  sem.release();
  assert.ok(await waiting);
  sem.release(2);
  assert.is(sem.getValue(), 2);
  const bounded = new mp.BoundedSemaphore(1);
  assert.throws(() => bounded.release(), /too many times/);
  assert.throws(() => new mp.Semaphore(-1), /whole number/);
  assert.throws(() => sem.acquire({ timeout: 'soon' as never }), /number of seconds/);
});

test('Condition: a child process notifies a waiting parent', async () => {
  const cond = new mp.Condition();
  const flag = mp.Value('i', 0);
  cond.acquire();
  const child = start(targets.notifyLater, [cond, flag, 30]);
  const result = cond.waitFor(() => flag.value === 1, 10);
  cond.release();
  assert.ok(result);
  await child.join(10);
  assert.throws(() => cond.wait(0.01), /does not hold/);
  assert.throws(() => cond.notify(), /does not hold/);
});

test('Condition: waitAsync keeps the event loop running and times out', async () => {
  const cond = new mp.Condition(new mp.Lock());
  const flag = mp.Value('i', 0);
  await cond.acquireAsync();
  let ticks = 0;
  const timer = setInterval(() => ticks++, 5);
  assert.not.ok(await cond.waitAsync(0.06), 'nobody notified');
  assert.ok(ticks >= 3, `the loop ran while waiting (${ticks} ticks)`);
  const child = start(targets.notifyLater, [cond, flag, 20], 'thread');
  assert.ok(await cond.waitForAsync(() => flag.value === 1, 10));
  clearInterval(timer);
  cond.release();
  await child.join(10);
});

test('Event: set in a child wakes the parent; wait times out while clear', async () => {
  const event = new mp.Event();
  assert.not.ok(event.isSet());
  assert.not.ok(event.wait(0.02));
  start(targets.setLater, [event, 20]);
  assert.ok(event.wait(10));
  event.clear();
  start(targets.setLater, [event, 20], 'thread');
  assert.ok(await event.waitAsync(10));
  assert.ok(event.wait(), 'a set event returns at once');
});

test('Event: set() then clear() at once still wakes every process and thread that was waiting, as in CPython', async () => {
  const event = new mp.Event(), ready = new mp.Semaphore(0), out = mp.Array('i', 4);
  const waiters = [0, 1, 2, 3].map((i) => start(targets.waitThroughSetClear, [event, ready, out, i], i < 2 ? 'process' : 'thread'));
  for (let i = 0; i < 4; i++) assert.ok(await ready.acquireAsync({ timeout: 60 }));
  event.set();
  event.clear();
  for (const w of waiters) await w.join();
  assert.equal([...out], [1, 1, 1, 1]);
  assert.not.ok(event.isSet());
  assert.not.ok(event.wait(-1), 'a negative timeout does not wait');
});

test("Barrier: its action runs exactly once a round, in whichever process or thread arrives last, before any is released", async () => {
  const counter = mp.Value('i', 0), early = mp.Value('i', 0), rounds = 20;
  targets.setTripCounter(counter);
  const barrier = new mp.Barrier(3, { action: targets.countTrip, module });
  const others = [start(targets.meetWithAction, [barrier, counter, early, rounds]), start(targets.meetWithAction, [barrier, counter, early, rounds], 'thread')];
  for (let r = 0; r < rounds; r++) {
    await barrier.waitAsync();
    if (counter.value < r + 1) early.value += 1;
  }
  for (const p of others) await p.join();
  assert.is(counter.value, rounds);
  assert.is(early.value, 0);
  const unnamed = Object.defineProperty(() => {}, 'name', { value: '' }); // a function with no name at all
  assert.throws(() => new mp.Process({ target: targets.meet, args: [new mp.Barrier(2, { action: unnamed }), mp.Array('i', 1)] as never, module }).start(), /not a named function cannot be sent/);
});

test('Barrier: three processes meet, each with its own index', async () => {
  const barrier = new mp.Barrier(3);
  const seen = mp.Array('i', 3);
  const children = [1, 2].map(() => start(targets.meet, [barrier, seen]));
  let actions = 0;
  const own = new mp.Barrier(1, { action: () => actions++ });
  own.wait();
  assert.is(actions, 1);
  const index = await barrier.waitAsync(10);
  seen[index] = process.pid;
  await Promise.all(children.map((c) => c.join(10)));
  assert.equal(new Set(seen.toArray()).size, 3, 'three parties, three indexes');
  assert.ok(seen.toArray().includes(process.pid));
  assert.is(barrier.nWaiting, 0);
});

test('Barrier: a timeout breaks it for everyone until reset', async () => {
  const barrier = new mp.Barrier(2);
  assert.throws(() => barrier.wait(0.02), (e: unknown) => e instanceof mp.BrokenBarrierError);
  assert.ok(barrier.broken);
  assert.throws(() => barrier.wait(1), /broken/);
  barrier.reset();
  assert.not.ok(barrier.broken);
  const waiting = barrier.waitAsync(5).catch((e) => e);
  await sleep(20);
  assert.is(barrier.nWaiting, 1);
  barrier.abort();
  assert.instance(await waiting, mp.BrokenBarrierError);
  assert.throws(() => new mp.Barrier(0), /parties/);
});

test('a lock whose owner process was killed is taken over by any acquire: non-blocking, awaitable, or one already waiting', async () => {
  for (const how of ['non-blocking', 'async', 'waiting'] as const) {
    const lock = new mp.Lock(), flag = mp.Value('i', 0);
    const p = start(targets.holdLock, [lock, flag], 'process') as mp.Process;
    while (flag.value === 0) await new Promise((r) => setTimeout(r, 10));
    let got: boolean;
    if (how === 'waiting') {
      const waiting = lock.acquireAsync({ timeout: 30 }); // waits while the owner lives
      p.kill();
      got = await waiting;
    } else {
      p.kill();
      await p.join(20);
      got = how === 'async' ? await lock.acquireAsync({ blocking: false }) : lock.acquire({ blocking: false });
    }
    assert.ok(got, `${how}: acquired`);
    assert.ok(lock.ownerDied, `${how}: the acquirer can tell the owner died`);
    lock.release();
    await p.join(20);
  }
});

test.run();
