import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import * as mp from 'mpkit';
import * as targets from '../fixtures/targets.ts';
import { rejects } from '../fixtures/rejects.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);

test('map, starmap, apply, applyAsync and chunks, on processes and threads', async () => {
  for (const Kind of [mp.Pool, mp.ThreadPool]) {
    await using pool = new Kind(2, { module });
    const items = Array.from({ length: 100 }, (_, i) => i);
    assert.equal(await pool.map(targets.square, items), items.map((x) => x * x));
    assert.equal(await pool.map(targets.square, items, { chunksize: 7 }), items.map((x) => x * x));
    assert.equal(await pool.starmap(targets.add, [[1, 2], [3, 4]]), [3, 7]);
    assert.is(await pool.apply(targets.add, [2, 3]), 5);
    const later = pool.applyAsync(targets.square, [9]);
    assert.is(await later, 81);
    assert.ok(later.ready() && later.successful());
    assert.equal(await pool.mapAsync(targets.square, [3]).get(10), [9]);
    assert.equal(await pool.map(targets.twiceSometimesLater, items), items.map((x) => 2 * x), 'results awaited only where they are promises');
  }
});

test('chunks that overflow the shared queue, in its ring and in segments of their own: every result, in order, and no segment left behind', async () => {
  const segments = () => readdirSync('/dev/shm').filter((n) => n.startsWith(`mpkit_${process.pid}_`)).length;
  await using pool = new mp.Pool(2, { module });
  await mp.getContext().warmUp(); // the spare the pool's start boots (warm start) has its own queue, made by now
  const before = segments();
  // Floats take 9 bytes each: chunks of 25,000 fill the ring after four; chunks of 40,000 go in segments.
  const items = Array.from({ length: 400_000 }, (_, i) => i + 0.5);
  const squares = items.map((x) => x * x);
  for (const chunksize of [25_000, 40_000]) assert.equal(await pool.map(targets.square, items, { chunksize }), squares);
  assert.is(segments(), before);
});

test('chunks of numbers, which travel as Float64Arrays, and chunks that are not all numbers: every value comes back as it went', async () => {
  for (const Kind of [mp.Pool, mp.ThreadPool]) {
    await using pool = new Kind(2, { module });
    const odd = [-0, NaN, Infinity, -Infinity, 2 ** 53, -(2 ** 31), 0.1, 5e-324, Number.MAX_VALUE];
    const numbers = Array.from({ length: 1000 }, (_, i) => odd[i % odd.length] ?? i);
    const back = await pool.map(targets.same, numbers);
    assert.ok(Array.isArray(back) && back.length === numbers.length);
    assert.ok(back.every((v, i) => Object.is(v, numbers[i])), 'numbers, -0 and NaN included, as they went');
    assert.equal(await pool.map(targets.describe, numbers, { chunksize: 100 }), numbers.map(targets.describe), 'numbers in, text out');
    const counting = Array.from({ length: 1000 }, (_, i) => i);
    assert.equal(await pool.map(targets.twiceSometimesLater, counting, { chunksize: 500 }), counting.map((x) => 2 * x), 'numbers in, some promised');
    const mixed = numbers.map((v, i) => (i === 500 ? 'five hundred' : i === 700 ? null : v));
    const again = await pool.map(targets.same, mixed, { chunksize: 250 });
    assert.ok(again.every((v, i) => Object.is(v, mixed[i])), 'a chunk with one non-number goes as it is');
    const seen: unknown[] = [];
    for await (const v of pool.imap(targets.same, numbers, { chunksize: 100 })) seen.push(v);
    assert.ok(seen.every((v, i) => Object.is(v, numbers[i])), 'imap, too');
  }
});

test('workers that cannot start (an initializer that throws): the pool stops and says why, rather than replace them for ever', async () => {
  for (const Kind of [mp.Pool, mp.ThreadPool]) {
    const pool = new Kind(2, { module, initializer: targets.fail, initargs: ['no start today'] });
    const why = (e: unknown) => /end before they finish any task .*initializer/.test((e as Error).message);
    await rejects(pool.map(targets.square, [1, 2, 3]), why);
    await rejects(pool.apply(targets.square, [4]), why);
    await pool.terminate();
  }
});

test('an error in a task rejects that task, with the remote stack as its cause', async () => {
  await using pool = new mp.Pool(2, { module });
  await rejects(pool.map(targets.failOn, [1, 2, 3, 4], { chunksize: 1 }), (e) =>
    e instanceof RangeError && /three is not allowed/.test(e.message) && /failOn/.test(String((e.cause as Error).message)));
  assert.equal(await pool.map(targets.square, [2]), [4], 'the pool goes on');
});

test('the *Async methods call callback or errorCallback with the result or the error, before get() gives it', async () => {
  await using pool = new mp.Pool(1, { module });
  const seen: unknown[] = [];
  const ok = pool.mapAsync(targets.square, [2, 3], { callback: (r) => seen.push(['map', r]) });
  assert.equal(await ok.get(30), [4, 9]);
  assert.equal(seen, [['map', [4, 9]]], 'the callback ran before get() resolved');
  const failed = pool.applyAsync(targets.failOn, [3], { callback: () => seen.push('not called'), errorCallback: (e) => seen.push((e as Error).name) });
  await failed.wait(30);
  assert.not.ok(failed.successful());
  assert.equal(seen.slice(1), ['RangeError']);
  const star = pool.starmapAsync(targets.add, [[1, 2]], { callback: () => { throw new Error('a callback that throws'); } });
  const error = console.error, printed: unknown[] = [];
  console.error = (...a: unknown[]) => { printed.push(a[0]); };
  try { assert.equal(await star.get(30), [3], 'the result stands when its callback throws'); } finally { console.error = error; }
  assert.match(String(printed[0]), /Exception in a pool callback/);
  assert.throws(() => pool.applyAsync(targets.square, [1], { callback: 'log' as never }), /callback and errorCallback are functions/);
  const unasked = pool.applyAsync(targets.failOn, [3]); // nobody awaits its failure: no unhandled rejection ends the process
  await unasked.wait(30);
});

test('a worker killed mid-task: that task rejects, the worker is replaced, the pool goes on', async () => {
  await using pool = new mp.Pool(2, { module });
  const results = await Promise.allSettled([1, 2, 3, 4, 5].map((x) => pool.apply(targets.dieOn, [x])));
  const died = results.filter((r) => r.status === 'rejected');
  assert.is(died.length, 1, 'only the task that was running when it died');
  assert.instance((died[0] as PromiseRejectedResult).reason, mp.WorkerDiedError);
  assert.match(String((died[0] as PromiseRejectedResult).reason.message), /died \(exit code -9\)/);
  assert.equal(results.filter((r) => r.status === 'fulfilled').map((r) => (r as PromiseFulfilledResult<number>).value), [1, 3, 4, 5]);
  assert.equal(await pool.map(targets.square, [1, 2, 3]), [1, 4, 9]);
});

test('imap over an input that throws at item k yields the first k results, then the error, as in CPython', async () => {
  await using pool = new mp.Pool(2, { module });
  function* throwsAt(k: number) {
    for (let i = 0; ; i++) {
      if (i === k) throw new RangeError(`no item ${k}`);
      yield i;
    }
  }
  for (const chunksize of [1, 3]) {
    const seen: number[] = [];
    let error: unknown = null;
    try {
      for await (const v of pool.imap(targets.square, throwsAt(7), { chunksize })) seen.push(v);
    } catch (e) { error = e; }
    assert.equal(seen, [0, 1, 4, 9, 16, 25, 36], `chunksize ${chunksize}`);
    assert.instance(error, RangeError);
  }
  const timedOut = await pool.applyAsync(targets.slowly, [300]).get(0.01).then(() => null, (e: unknown) => e);
  assert.instance(timedOut, mp.TimeoutError, "AsyncResult.get's timeout is mpkit's one TimeoutError, as CPython's is multiprocessing.TimeoutError");
});

test('imap keeps order, imapUnordered streams as tasks finish, an endless input is pulled lazily', async () => {
  await using pool = new mp.Pool(2, { module });
  const ordered: number[] = [];
  for await (const r of pool.imap(targets.slowly, [60, 10, 30])) ordered.push(r);
  assert.equal(ordered, [60, 10, 30]);
  // The slow item is held until the others are in: with imap's order this would never end.
  const unordered: (number | string)[] = [], slow = new mp.Event();
  for await (const r of pool.imapUnordered(targets.settle, [slow, 10, 20])) {
    unordered.push(r);
    if (unordered.length === 2) slow.set();
  }
  assert.equal(unordered, [10, 20, 'slow'], 'each as it finished');
  let pulled = 0;
  function* endless() { for (let i = 0; ; i++) { pulled++; yield i; } }
  let taken = 0;
  for await (const r of pool.imap(targets.square, endless())) { if (++taken === 10) break; assert.is(r, (taken - 1) ** 2); }
  assert.ok(pulled < 100, `pulled ${pulled} items for 10 results`);
});

test('initializer, maxtasksperchild, close and join', async () => {
  const pool = new mp.Pool(1, { module, initializer: targets.setPrefix, initargs: ['p'], maxtasksperchild: 2 });
  const out = await pool.map(targets.withPrefix, [1, 2, 3, 4], { chunksize: 1 });
  assert.ok(out.every((s) => s.startsWith('p')), 'the initializer ran in every worker');
  assert.is(new Set(out.map((s) => s.split(':')[1])).size, 2, 'a fresh worker after two tasks');
  pool.close();
  await rejects(pool.apply(targets.square, [1]), (e) => /closed/.test((e as Error).message));
  await pool.join();
});

test('an AbortSignal drops the tasks that have not started', async () => {
  await using pool = new mp.Pool(1, { module });
  const controller = new AbortController();
  const running = pool.apply(targets.slowly, [100]); // the one worker is busy with this first
  const queued = [1, 2, 3, 4].map((x) => pool.apply(targets.square, [x], { signal: controller.signal }));
  controller.abort(new Error('no longer needed'));
  const settled = await Promise.allSettled(queued);
  // Already on the shared queue or still in the parent, none had started, so all are dropped.
  assert.ok(settled.every((r) => r.status === 'rejected' && /no longer needed/.test(String(r.reason))));
  const after = pool.apply(targets.square, [5], { signal: controller.signal });
  await rejects(after, (e) => /no longer needed/.test(String(e)));
  assert.is(await pool.apply(targets.square, [6]), 36, "the pool goes on after the dropped tasks");
  assert.is(await running, 100);
  assert.throws(() => new mp.Pool(0), /at least 1/);
});

test.run();
