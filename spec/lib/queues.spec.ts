import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import * as mp from 'mpkit';
import { Thread } from 'mpkit/threading';
import * as targets from '../fixtures/targets.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);

test('a queue carries items from a parent to a child process, in order and complete', async () => {
  const q = new mp.Queue<number | null>(10); // bounded: the parent waits for room
  const out = mp.Value('d', 0);
  const p = new mp.Process({ target: targets.consume, args: [q, out], module });
  p.start();
  for (let i = 1; i <= 1000; i++) await q.putAsync(i);
  await q.putAsync(null);
  await p.join(30);
  assert.is(p.exitCode, 0);
  assert.is(out.value, 500500);
});

test('items come out as they went in: -0 (which msgpack has not), NaN, bigints, nesting', () => {
  const q = new mp.Queue<unknown>();
  const items: unknown[] = [-0, [1, -0, 'a'], { a: -0, b: [NaN, -0] }, 2n ** 70n, new Set([1])];
  for (const item of items) q.put(item);
  for (const item of items) assert.equal(q.get(), item);
  q.put([-0]);
  assert.ok(Object.is((q.get() as number[])[0], -0), 'assert.equal does not tell -0 from 0');
});

test('bounds, timeouts, Empty and Full, joinable counts', () => {
  const q = new mp.JoinableQueue<string>(1);
  assert.ok(q.empty());
  q.put('a');
  assert.ok(q.full());
  assert.throws(() => q.putNowait('b'), (e: unknown) => e instanceof mp.Full);
  const t0 = performance.now();
  assert.throws(() => q.put('b', { timeout: 0.05 }), (e: unknown) => e instanceof mp.Full);
  assert.ok(performance.now() - t0 >= 45);
  assert.is(q.get(), 'a');
  assert.throws(() => q.getNowait(), (e: unknown) => e instanceof mp.Empty);
  assert.throws(() => q.get({ timeout: 0.02 }), (e: unknown) => e instanceof mp.Empty);
  q.taskDone();
  q.join(); // nothing unfinished: returns at once
  assert.throws(() => q.taskDone(), /more times/);
  assert.throws(() => new mp.Queue(-1), /maxsize/);
});

test('putMany puts in order, waits for room like put, and on Full keeps the items that fit', async () => {
  const q = new mp.Queue<number | null>(4); // smaller than the batch: the child's gets make room
  const out = mp.Value('d', 0);
  const p = new mp.Process({ target: targets.consume, args: [q, out], module });
  p.start();
  q.putMany(Array.from({ length: 100 }, (_, i) => i + 1));
  q.putMany([null]);
  await p.join(30);
  assert.is(out.value, 5050);
  const small = new mp.Queue<string>(2);
  assert.throws(() => small.putMany(['a', 'b', 'c'], { timeout: 0.02 }), (e: unknown) => e instanceof mp.Full && /2 of 3/.test((e as Error).message));
  assert.equal([small.get(), small.get(), small.qsize()], ['a', 'b', 0]);
});

test('items that wrap around the end of the ring come out whole, in order', () => {
  const q = new mp.Queue<string>(0, { capacity: 256 });
  const sent: string[] = [], got: string[] = [];
  // Lengths that do not divide the ring: over a thousand items every offset is crossed.
  for (let i = 0; i < 1000; i++) {
    const item = String.fromCharCode(97 + (i % 26)).repeat(i % 41);
    sent.push(item);
    q.put(item, { timeout: 5 });
    while (q.qsize() > 2) got.push(q.get({ timeout: 5 })); // two stay in: the next put lands behind them
  }
  while (got.length < sent.length) got.push(q.get({ timeout: 5 }));
  assert.equal(got, sent);
});

test('an item bigger than the ring travels in its own segment, and nothing is left behind', async () => {
  const q = new mp.Queue<number[]>(0, { capacity: 4096 });
  const p = new mp.Process({ target: targets.sendBig, args: [q], module });
  p.start();
  const got = await q.getAsync({ timeout: 30 });
  await p.join(30);
  assert.is(got.length, 200_000);
  assert.is(got[199_999], 199_999);
});

test('items bigger than the ring, put by a process or thread that ends right after, all arrive, in order', async () => {
  for (const kind of ['process', 'thread'] as const) {
    const q = new mp.Queue<string>(0, { capacity: 4096 });
    const args: [mp.Queue<string>, number, number] = [q, 3, 4 * 1024 * 1024];
    const worker = kind === 'process' ? new mp.Process({ target: targets.putBigAndEnd, args, module }) : new Thread({ target: targets.putBigAndEnd, args, module });
    worker.start();
    await worker.join(60);
    if (worker instanceof mp.Process) assert.is(worker.exitCode, 0, 'the process ended before anything was taken');
    for (let i = 0; i < 3; i++) {
      const item = await q.getAsync({ timeout: 30 });
      assert.is(item.length, 4 * 1024 * 1024, `${kind}: item ${i} whole`);
      assert.is(item[0], String(i), `${kind}: item ${i} in order`);
    }
  }
});

test("the Pipe idiom: the parent closes its copy of the child's end, and the exchange still works", async () => {
  for (const kind of ['process', 'thread'] as const) {
    const [mine, theirs] = mp.Pipe<string>();
    const worker = kind === 'process' ? new mp.Process({ target: targets.echoPipe, args: [theirs], module }) : new Thread({ target: targets.echoPipe, args: [theirs], module });
    worker.start();
    theirs.close(); // this process's copy only
    mine.send('still open');
    assert.is(await mine.recvAsync(), 'STILL OPEN', kind);
    mine.close(); // now the child's recv ends, and so does the child
    await worker.join(30);
    assert.not.ok(worker.isAlive(), `${kind} ended when the pipe closed`);
  }
});

test('a child that sends and closes: the parent gets every item, then EOFError; a killed holder ends the pipe too', async () => {
  const [mine, theirs] = mp.Pipe<number>();
  const p = new mp.Process({ target: targets.sendThenClose, args: [theirs, 1000], module });
  p.start();
  theirs.close();
  await p.join(30);
  const got: number[] = [];
  for (;;) {
    try { got.push(await mine.recvAsync()); } catch (e) { assert.instance(e, mp.EOFError); break; }
  }
  assert.equal(got, Array.from({ length: 1000 }, (_, i) => i));

  const [other, held] = mp.Pipe<string>(), holding = new mp.Event();
  const holder = new mp.Process({ target: targets.holdPipeUntilKilled, args: [held, holding], module });
  holder.start();
  held.close();
  assert.ok(await holding.waitAsync(30));
  holder.kill();
  await holder.join(30);
  const outcome = await other.recvAsync().then(() => 'received', (e: unknown) => e);
  assert.instance(outcome, mp.EOFError, 'the only holder of the other end died: EOF, not a hang');
  assert.throws(() => other.send('x'), (e: unknown) => e instanceof mp.EOFError);
});

test('sendBytes, recvBytes and recvBytesInto, through a child, with their errors, as in multiprocessing.connection', async () => {
  const [mine, theirs] = mp.Pipe();
  const p = new mp.Process({ target: targets.echoBytes, args: [theirs], module });
  p.start();
  theirs.close();
  mine.sendBytes(new Uint8Array([0, 1, 2, 3, 4, 5]), 1, 3);
  assert.equal([...await mine.recvBytesAsync()], [3, 2, 1]);
  mine.sendBytes(new Uint8Array([7, 8]));
  const buffer = new Uint8Array(5);
  assert.is(mine.recvBytesInto(buffer, 2), 2);
  assert.equal([...buffer], [0, 0, 8, 7, 0]);
  mine.sendBytes(new Uint8Array([1, 2, 3]));
  assert.throws(() => mine.recvBytesInto(new Uint8Array(2)), (e: unknown) => e instanceof mp.BufferTooShort && [...e.bytes].join() === '3,2,1');
  mine.sendBytes(new Uint8Array(10));
  assert.throws(() => mine.recvBytes(4), /longer than maxlength 4/);
  assert.throws(() => mine.sendBytes(new Uint8Array(3), 4), /past the end/);
  assert.throws(() => mine.sendBytes(new Uint8Array(3), -1), /at least 0/);
  assert.throws(() => mine.sendBytes(new Uint8Array(3), 1, 3), /past the end/);
  assert.throws(() => mine.recvBytesInto(new Uint8Array(3), 4), /outside a buffer/);
  mine.close();
  await p.join(30);
  assert.is(p.exitCode, 0);
});

test('a pipe between threads and processes; closing one end ends the other', async () => {
  for (const kind of ['process', 'thread'] as const) {
    const [mine, theirs] = mp.Pipe<string>();
    const worker = kind === 'process'
      ? new mp.Process({ target: targets.echoPipe, args: [theirs], module })
      : new Thread({ target: targets.echoPipe, args: [theirs], module });
    worker.start();
    mine.send('hello');
    assert.is(await mine.recvAsync(), 'HELLO');
    assert.not.ok(mine.poll(0));
    mine.close();
    await worker.join(30);
    assert.not.ok(worker.isAlive(), `${kind} ended when the pipe closed`);
  }
  const [reader, writer] = mp.Pipe<number>(false);
  writer.send(1);
  assert.ok(reader.poll(1));
  assert.is(reader.recv(), 1);
  assert.throws(() => reader.send(2), /one-way/);
  writer.close();
  assert.throws(() => reader.recv(), (e: unknown) => e instanceof mp.EOFError);
});

test('async iteration drains a queue until it is closed', async () => {
  const q = new mp.SimpleQueue<number>();
  for (let i = 0; i < 5; i++) q.put(i);
  setTimeout(() => q.close(), 20);
  const seen: number[] = [];
  for await (const item of q) seen.push(item);
  assert.equal(seen, [0, 1, 2, 3, 4]);
  assert.throws(() => q.put(9), /closed/);
});

test('close() ends every put and get blocked on the queue, in any process, with an error that says so', async () => {
  const full = new mp.Queue<number>(1), empty = new mp.Queue<number>(), out = new mp.Queue<string>();
  full.put(1);
  const putter = new mp.Process({ target: targets.blockedUntilClosed, args: [full, 'put', out], module });
  const getter = new mp.Process({ target: targets.blockedUntilClosed, args: [empty, 'get', out], module });
  putter.start();
  getter.start();
  // Each says it is about to wait; then its main thread is seen asleep on a futex, in put() or get().
  assert.equal([await out.getAsync({ timeout: 30 }), await out.getAsync({ timeout: 30 })], ['waiting', 'waiting']);
  const asleep = (pid: number) => { try { return readFileSync(`/proc/${pid}/wchan`, 'utf8').includes('futex'); } catch { return false; } };
  for (let i = 0; i < 600 && !(asleep(putter.pid!) && asleep(getter.pid!)); i++) await new Promise((r) => setTimeout(r, 50));
  full.close();
  empty.close();
  const said = [await out.getAsync({ timeout: 30 }), await out.getAsync({ timeout: 30 })].sort();
  assert.equal(said, ['The queue is closed and empty: no item will come', 'The queue was closed while put() waited for room: the item was not put']);
  await putter.join(30);
  await getter.join(30);
  assert.is(full.get(), 1, 'what was in the queue can still be got');
});

test('JoinableQueue.join takes a timeout, and fails, naming the count, when a taker dies before taskDone()', async () => {
  const q = new mp.JoinableQueue<number>();
  for (const n of [1, 2, 3]) q.put(n);
  assert.is(q.join(0.05), false, 'not done within the timeout');
  const p = new mp.Process({ target: targets.takeAndDie, args: [q, 2], module });
  p.start();
  await p.join(30);
  assert.is(p.exitCode, -9);
  const error = await q.joinAsync(30).then(() => null, (e: Error) => e);
  assert.match(String(error?.message), new RegExp(`^Process ${p.pid} ended holding 2 items it got from this queue and never marked done, so join\\(\\) would wait for ever`));
  q.taskDone(); // the parent marks the dead one's items done, and gets and marks the last
  q.taskDone();
  q.get();
  q.taskDone();
  assert.is(await q.joinAsync(5), true);
});

test.run();
