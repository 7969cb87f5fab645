import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createConnection } from 'node:net';
import { networkInterfaces } from 'node:os';
import * as mp from 'mpkit';
import { rejects } from '../fixtures/rejects.ts';
import { connect } from '../../lib/connection/socket.ts';
import { Client } from '../../lib/managers/client.ts';
import * as targets from '../fixtures/targets.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);
// The server imports no program of ours: the spec runner's main module is not one to run twice.
const start = (options: mp.ManagerOptions = {}) => new mp.SyncManager({ module: null, ...options }).start();
const noRefs = { toRef: () => null, fromRef: (r: unknown) => r };
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms))]);

test('a call a child made without awaiting it still lands before the child exits', async () => {
  await using manager = await start();
  const list = await manager.list<string>();
  for (let i = 0; i < 3; i++) {
    const p = new mp.Process({ target: targets.appendWithoutAwait, args: [list, `word ${i}`], module });
    p.start();
    await p.join(30);
    assert.is(p.exitCode, 0);
  }
  assert.equal(await list.toArray(), ['word 0', 'word 1', 'word 2']);
});

test('proxies reach the same objects from a child; the server has its own pid', async () => {
  await using manager = await start();
  assert.ok(manager.pid && manager.pid !== process.pid);
  const list = await manager.list<string>(['a']);
  const p = new mp.Process({ target: targets.appendFromChild, args: [list, 'Hello'], module });
  p.start();
  await p.join(30);
  assert.is(p.exitCode, 0);
  assert.equal(await list.toArray(), ['a', 'Hello']);
  assert.is(await list.length, 2);
  assert.is(await list.push('b', 'c'), 4);
  assert.is(await list.pop(), 'c');
  await list.insert(0, 'z');
  await list.sort();
  assert.equal(await list.slice(0, 2), ['Hello', 'a']);
  assert.is(await list.index('z'), 3);
  await rejects(list.get(10), /out of range/);
  const seen: string[] = [];
  for await (const word of list) seen.push(word);
  assert.is(seen.length, 4);
});

test('a dict, a namespace, a value and a set; a proxy stored in a dict stays a proxy', async () => {
  await using manager = await start();
  const zeros = await manager.list<number>([-0, 0]);
  assert.ok(Object.is(await zeros.get(0), -0) && Object.is(await zeros.get(1), 0), '-0 stays -0 both ways');
  const d = await manager.dict<unknown>({ a: 1 });
  await d.update({ b: 2 });
  assert.is(await d.setdefault('c', 3), 3);
  assert.is(await d.pop('a'), 1);
  assert.is(await d.get('missing', 'fallback'), 'fallback');
  assert.equal(await d.toObject(), { b: 2, c: 3 });
  await rejects(d.delete('nope'), /No key "nope"/);
  assert.equal(await d.copy(), { b: 2, c: 3 });
  await d.set('last', 4);
  assert.equal(await d.popitem(), ['last', 4], 'popitem takes the last added, as in Python');
  assert.equal(await d.keys(), ['b', 'c']);
  const inner = await manager.list<number>([1, 2]);
  await d.set('inner', inner);
  const again = await d.get('inner') as mp.ListProxy<number>;
  assert.instance(again, mp.ListProxy);
  await again.append(3);
  assert.equal(await inner.toArray(), [1, 2, 3]);
  const ns = await manager.Namespace({ x: 1 });
  await ns.set('y', 2);
  assert.equal(await ns.toObject(), { x: 1, y: 2 });
  const v = await manager.Value('d', 1.5);
  await v.set(2.5);
  assert.is(await v.get(), 2.5);
  const s = await manager.set([1, 1, 2]);
  assert.is(await s.length, 2);
});

test('an object is freed when its last proxy is released', async () => {
  await using manager = await start();
  const before = await manager.numberOfObjects();
  const list = await manager.list();
  assert.is(await manager.numberOfObjects(), before + 1);
  list.release();
  await new Promise((r) => setTimeout(r, 50));
  assert.is(await manager.numberOfObjects(), before);
  await rejects(list.toArray(), /No managed object/);
});

test('an object stored inside another lives while one a proxy names can reach it, and no longer', async () => {
  await using manager = await start();
  const table = await manager.dict<mp.ListProxy<unknown>>();
  const inner = await manager.list([1]);
  await table.set('a', inner);
  await table.set('b', inner); // held twice, counted once
  inner.release();
  assert.is(await manager.numberOfObjects(), 2, 'the dict still reaches the list');
  const again = (await table.get('a'))!;
  await again.append(2);
  again.release();
  await table.delete('a');
  assert.is(await manager.numberOfObjects(), 2, "'b' still reaches it");
  await table.delete('b');
  assert.is(await manager.numberOfObjects(), 1, 'nothing reaches it any more');
  // A container freed takes what only it reached along: lists in a list in a dict.
  const outer = await manager.list<mp.ListProxy<number>>();
  const deep = await manager.list([3]);
  await outer.append(deep);
  await table.set('c', outer);
  deep.release();
  outer.release();
  assert.is(await manager.numberOfObjects(), 3);
  table.release();
  assert.is(await manager.numberOfObjects(), 0);
});

test("while an object of a type of the user's is held, stored objects stay, as its fields may hold them unseen", async () => {
  await using manager = await start({ module });
  const keeper = await manager.get<targets.Keeper>('Keeper');
  const list = await manager.list([7]);
  await keeper.keep(list);
  list.release();
  assert.is(await manager.numberOfObjects(), 2);
  const back = (await keeper.kept()) as mp.ListProxy<number>;
  assert.equal(await back.toArray(), [7], 'still a proxy of the same list');
});

test("Manager({ initializer, initargs }) runs it in the server process before it serves; a non-function is refused", async () => {
  const pid = mp.Value('i', 0);
  await using manager = await new mp.SyncManager({ module, initializer: targets.recordServerPid, initargs: [pid] }).start();
  assert.is(pid.value, manager.pid);
  assert.throws(() => new mp.SyncManager({ initializer: 42 as never }), /A manager initializer is a named function exported by the manager's module/);
  await rejects(new mp.SyncManager({ module: null, initializer: 'recordServerPid' }).start(), /needs the module that exports it/);
});

test('a wrong key is refused before any request is read, with a clear error', async () => {
  await using manager = await start({ authkey: 'right' });
  const wrong = new mp.SyncManager({ address: manager.address, authkey: 'wrong', module: null });
  await rejects(wrong.connect(), (e: unknown) => e instanceof mp.AuthenticationError && /authkey/.test((e as Error).message));
  // A peer that skips the handshake and sends a request is cut off without an answer.
  const raw = createConnection(manager.address as string);
  await new Promise((r) => raw.once('connect', r));
  raw.resume(); // read (and drop) what the server says, so the close is seen
  const closed = new Promise((r) => raw.once('close', r));
  raw.write(Buffer.from([0, 0, 0, 8, 0x93, 1, 0xa4, 0x70, 0x69, 0x6e, 0x67, 0]));
  await within(closed, 5000);
  assert.is(await manager.numberOfObjects(), 0, 'and the server still serves');
});

test('10,000 malformed and truncated frames: the sender is cut off, everyone else is served', async () => {
  await using manager = await start({ authkey: 'k' });
  const key = new TextEncoder().encode('k');
  const list = await manager.list<number>();
  const garbage = [
    Buffer.from([0xc1]), // not msgpack
    Buffer.from([0x92, 0x01]), // truncated msgpack
    Buffer.from([0x01]), // msgpack, not a request
    Buffer.from([0x93, 0xa1, 0x78, 0xa1, 0x79, 0x00]), // an array of the wrong shape
  ];
  let cut = 0;
  for (let i = 0; i < 10_000; i += 100) {
    const conn = await connect(manager.address, key);
    for (let k = 0; k < 100; k++) conn.sendBytes(garbage[(i + k) % garbage.length]);
    await new Promise<void>((resolve) => { conn.socket.once('close', () => { cut++; resolve(); }); setTimeout(resolve, 2000); });
    conn.close();
  }
  assert.is(cut, 100, 'every sender of garbage was cut off');
  // An oversized frame header, and a frame cut short by a disconnect.
  const big = await connect(manager.address, key);
  big.socket.write(Buffer.from([0xff, 0xff, 0xff, 0xff]));
  const short = await connect(manager.address, key);
  short.socket.end(Buffer.from([0, 0, 0, 100, 1, 2, 3]));
  await new Promise((r) => setTimeout(r, 100));
  await list.append(1);
  assert.equal(await list.toArray(), [1]);
});

test('50 clients × 1,000 appends at once: the list holds exactly 50,000', async () => {
  await using manager = await start({ authkey: 'k' });
  const list = await manager.list<number>();
  const clients = Array.from({ length: 50 }, () => new Client(manager.address, new TextEncoder().encode('k'), noRefs));
  await Promise.all(clients.map((client, c) => Promise.all(
    Array.from({ length: 1000 }, (_, i) => client.request('call', list.ref.id, 'append', [c * 1000 + i])),
  )));
  for (const client of clients) client.close();
  assert.is(await list.length, 50_000);
  assert.is(new Set(await list.toArray()).size, 50_000);
});

test('a client killed while holding a manager lock: the lock is released for the others', async () => {
  await using manager = await start();
  const lock = await manager.Lock();
  const holding = new mp.Event();
  const p = new mp.Process({ target: targets.holdManagerLock, args: [lock, holding], module });
  p.start();
  assert.ok(await holding.waitAsync(30));
  assert.not.ok(await lock.acquire({ blocking: false }), 'held by the child');
  p.kill();
  await p.join(10);
  assert.ok(await lock.acquire({ timeout: 5 }), 'released when the child died');
  await lock.release();
});

test('the server killed: every waiting call fails with a clear error within 1 s', async () => {
  const manager = await start();
  const queue = await manager.Queue();
  const lock = await manager.Lock();
  await lock.acquire();
  const other = new Client(manager.address, new Uint8Array(), noRefs); // a separate, failing client is fine
  other.close();
  const waits = [queue.get(), queue.get({ timeout: 60 }), (await manager.Event()).wait()];
  process.kill(manager.pid!, 'SIGKILL');
  // The bound only tells a hang from an answer: the socket's close fails them at once.
  for (const w of waits) await rejects(within(w, 10_000), (e: unknown) => e instanceof mp.ManagerGoneError && /is gone/.test((e as Error).message));
  await rejects(queue.put(1), /is gone/);
  await manager.shutdown();
});

test('a server that stops reading and then dies: a client with a full lane is not left waiting', async () => {
  const manager = await start();
  const list = await manager.list<string>();
  await list.append('lanes up');
  process.kill(manager.pid!, 'SIGSTOP');
  // 100 KB a turn, 30 turns: far past the server's 1 MiB inbox, which nobody empties now.
  const big = 'x'.repeat(1000), calls: Promise<unknown>[] = [];
  for (let turn = 0; turn < 30; turn++) {
    for (let i = 0; i < 100; i++) calls.push(list.append(big).then(() => 'appended', (e: unknown) => e));
    await new Promise((r) => setImmediate(r));
  }
  process.kill(manager.pid!, 'SIGKILL');
  const outcomes = await within(Promise.all(calls), 5000);
  assert.ok(outcomes.every((o) => o === 'appended' || o instanceof mp.ManagerGoneError), 'each call appended or failed clearly');
  assert.ok(outcomes.some((o) => o instanceof mp.ManagerGoneError), 'the ones the dead server never read failed');
  await manager.shutdown();
});

test('queues, events, semaphores, conditions and barriers on the server', async () => {
  await using manager = await start();
  const q = await manager.Queue<number>(1);
  await q.put(1);
  await rejects(q.put(2, { timeout: 0.05 }), (e: unknown) => e instanceof mp.Full);
  assert.is(await q.get(), 1);
  await rejects(q.getNowait(), (e: unknown) => e instanceof mp.Empty);
  const jq = await manager.JoinableQueue<number>();
  await jq.put(1);
  const joined = jq.join();
  await jq.get();
  await jq.taskDone();
  await within(joined, 1000);
  const e = await manager.Event();
  assert.not.ok(await e.wait(0.02));
  const sem = await manager.BoundedSemaphore(1);
  assert.ok(await sem.acquire());
  assert.not.ok(await sem.acquire({ timeout: 0.02 }));
  await sem.release();
  await rejects(sem.release(), /too many times/);
  const cond = await manager.Condition();
  await cond.acquire();
  assert.not.ok(await cond.wait(0.02));
  await cond.notifyAll();
  await cond.release();
  const b = await manager.Barrier(2);
  await rejects(b.wait(0.02), (err: unknown) => err instanceof mp.BrokenBarrierError);
  assert.ok(await b.broken);
  await b.reset();
  const [i, j] = await Promise.all([b.wait(5), b.wait(5)]);
  assert.equal([i, j].sort(), [0, 1]);
});

test('TCP: loopback by default, and only where it was asked', async () => {
  await using manager = await start({ address: { port: 0 }, authkey: 'k' });
  const address = manager.address as { host: string; port: number };
  assert.is(address.host, '127.0.0.1');
  assert.ok(address.port > 0);
  assert.is(await manager.numberOfObjects(), 0);
  const outside = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal);
  if (outside) {
    const refused = new Promise<string>((resolve) => {
      const s = createConnection(address.port, outside.address);
      s.once('connect', () => { s.destroy(); resolve('connected'); });
      s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
    });
    assert.is(await refused, 'ECONNREFUSED', `not listening on ${outside.address}`);
  }
  assert.throws(() => new mp.SyncManager({ address: { host: 'x', port: 70000 } }), /port from 0 to 65535/);
});

test.run();
