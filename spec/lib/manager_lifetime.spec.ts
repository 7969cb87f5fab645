// A manager that outlives its clients: limits on what one request may ask, nothing kept for
// clients that are gone, and calls that can end.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync } from 'node:fs';
import * as mp from 'mpkit';
import * as targets from '../fixtures/targets.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);
const start = (options: mp.ManagerOptions = {}) => new mp.SyncManager({ module: null, authkey: 'k', ...options }).start();
const outcome = (p: Promise<unknown>) => p.then((v) => ({ value: v }), (e: unknown) => ({ error: e as Error }));
/** The shared memory segments the process `pid` made that still have a name. */
const segmentsOf = (pid: number) => readdirSync('/dev/shm').filter((n) => n.startsWith(`mpkit_${pid}_`)).length;
/** Polls `read` until it gives `want`, for at most `seconds`; returns the last value read. */
async function settles<T>(read: () => Promise<T> | T, want: T, seconds = 15): Promise<T> {
  const end = Date.now() + seconds * 1000;
  let got = await read();
  while (got !== want && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 50));
    got = await read();
  }
  return got;
}

test('a request for a huge Array is refused at once with a RangeError naming the limit; others go on', async () => {
  await using manager = await start();
  const list = await manager.list<number>();
  const { error } = await outcome(manager.Array('i', 2 ** 32 - 1)) as { error: Error };
  assert.instance(error, RangeError);
  assert.match(error.message, /over this manager's limit of 10000000 \(maxItems\): start the manager with a larger maxItems/);
  await list.append(1);
  assert.equal(await list.toArray(), [1]);
  assert.is(await manager.numberOfObjects(), 1, 'nothing was made for the refused request');
});

test('maxItems bounds lists, Arrays and queues; maxFrameBytes bounds requests (at the sender) and replies', async () => {
  await using manager = await start({ maxItems: 100, maxFrameBytes: 1024 * 1024 });
  const list = await manager.list<unknown>(Array.from({ length: 100 }, (_, i) => i));
  assert.match((await outcome(list.append(100)) as { error: Error }).error.message, /A list of 101 items is over this manager's limit of 100 \(maxItems\)/);
  assert.instance((await outcome(manager.Array('d', 101)) as { error: Error }).error, RangeError);
  const queue = await manager.Queue<number>();
  for (let i = 0; i < 100; i++) await queue.putNowait(i);
  assert.match((await outcome(queue.put(100)) as { error: Error }).error.message, /queue of 101 items/);

  const big = await manager.list<string>();
  const request = (await outcome(big.append('x'.repeat(2 * 1024 * 1024)))) as { error: Error };
  assert.instance(request.error, RangeError);
  assert.match(request.error.message, /^The request list\.append\(\) is \d+ bytes, over the manager's limit of 1048576 \(maxFrameBytes\): send less at once, or start the manager with a larger maxFrameBytes$/);
  for (let i = 0; i < 4; i++) await big.append('y'.repeat(300 * 1024));
  const reply = (await outcome(big.toArray())) as { error: Error };
  assert.instance(reply.error, RangeError);
  assert.match(reply.error.message, /A reply of \d+ bytes is over this manager's limit of 1048576 \(maxFrameBytes\): ask for less at once \(slice\(\)\)/);
  assert.is((await big.slice(0, 2)).length, 2, 'a smaller answer still comes');
  assert.is(await big.length, 4, 'the refused request changed nothing');
});

test('manager options are checked when the manager is made', () => {
  assert.throws(() => new mp.SyncManager({ maxItems: 0 }), (e: Error) => e instanceof RangeError && /maxItems is a whole number, at least 1, not 0/.test(e.message));
  assert.throws(() => new mp.SyncManager({ maxFrameBytes: 2 ** 33 }), /at most 4294967295/);
  assert.throws(() => new mp.SyncManager({ timeout: -1 }), /timeout is a number of seconds, at least 0, or null/);
});

test("200 short-lived clients: the server's segments and objects are back where they started", async () => {
  await using manager = await start();
  const list = await manager.list<number>([0]); // this client's lane is up
  const segments = segmentsOf(manager.pid!), objects = await manager.numberOfObjects();
  const children = Array.from({ length: 4 }, () => new mp.Process({ target: targets.shortLivedClients, args: [manager.address as string, 'k', 50], module }));
  children.forEach((p) => p.start());
  for (const p of children) await p.join();
  assert.equal(children.map((p) => p.exitCode), [0, 0, 0, 0]);
  assert.is(await settles(() => manager.numberOfObjects(), objects), objects, 'the 400 objects they made and never released are freed');
  assert.is(await settles(() => segmentsOf(manager.pid!), segments), segments, 'each lane took its segment with it');
  assert.equal(await list.toArray(), [0]);
});

test('20 clients killed while holding objects: the objects they held are freed', async () => {
  await using manager = await start();
  const objects = await manager.numberOfObjects();
  const made = new mp.Semaphore(0);
  const children = Array.from({ length: 20 }, () => new mp.Process({ target: targets.holdObjectsUntilKilled, args: [manager.address as string, 'k', made], module }));
  children.forEach((p) => p.start());
  for (let i = 0; i < 20; i++) assert.ok(made.acquire({ timeout: 60 }), 'every child made its objects');
  assert.is(await manager.numberOfObjects(), objects + 60);
  for (const p of children) p.kill();
  for (const p of children) await p.join();
  assert.is(await settles(() => manager.numberOfObjects(), objects), objects);
});

test('a proxy sent by a child that exits at once still names its object when it arrives', async () => {
  await using manager = await start();
  const out = new mp.Queue<mp.ListProxy<string>>();
  const p = new mp.Process({ target: targets.makeListAndExit, args: [manager.address as string, 'k', out], module });
  p.start();
  await p.join();
  const list = await out.getAsync({ timeout: 30 });
  assert.equal(await list.toArray(), ['made by a child that is gone']);
  assert.is(await manager.numberOfObjects(), 1);
  list.release();
  assert.is(await settles(() => manager.numberOfObjects(), 0), 0, 'and is freed when its last proxy goes');
});

test('a call to a stopped server fails with TimeoutError naming the method and saying it is stopped; it lands once resumed', async () => {
  await using manager = await start({ timeout: 0.5 });
  const list = await manager.list<number>();
  process.kill(manager.pid!, 'SIGSTOP');
  try {
    const { error } = await outcome(list.append(1)) as { error: Error };
    assert.instance(error, mp.TimeoutError);
    assert.match(error.message, new RegExp(`^The manager call list\\.append\\(\\) got no reply within 0\\.5 s: its server \\(pid ${manager.pid}\\) is stopped \\(SIGSTOP, or a debugger\\) and answers once resumed \\(SIGCONT\\)$`));
  } finally {
    process.kill(manager.pid!, 'SIGCONT');
  }
  await list.append(2);
  assert.equal(await list.toArray(), [1, 2], 'the call that timed out was sent, and done once the server ran again');
});

test('a timeout per proxy; a call that waits by design has its own wait added, and one that waits forever is never cut short', async () => {
  await using manager = await start();
  const queue = await manager.Queue<string>();
  queue.timeout = 0.2;
  const timed = await outcome(queue.get({ timeout: 0.5 })) as { error: Error };
  assert.instance(timed.error, mp.Empty, 'its own timeout ended it, on the server: not a TimeoutError at 0.2 s');
  const forever = queue.get();
  const early = await Promise.race([forever.then(() => 'answered', () => 'failed'), new Promise((r) => setTimeout(() => r('still waiting'), 1000))]);
  assert.is(early, 'still waiting');
  await queue.put('at last');
  assert.is(await forever, 'at last');
});

test.run();
