// mpkit/cluster against a real redis-server on loopback, started here: the shared types from two
// connections, leases and their fencing numbers with a holder killed, and the Pool with worker
// hosts started as a user starts them (the `mpkit worker` command, on this runtime), one killed
// mid-map.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { connect, LeaseLostError, type Cluster } from 'mpkit/cluster';
import { Empty, Full, Value } from 'mpkit';
import { missing, startRedis, type RedisServer } from '../fixtures/redis.ts';
import { rejects } from '../fixtures/rejects.ts';
import { add, busy, fail, square, where } from '../fixtures/cluster_tasks.ts';

const here = (rel: string) => fileURLToPath(new URL(rel, import.meta.url));
const tasks = here('../fixtures/cluster_tasks.ts');
const runtimeArgs = 'Deno' in globalThis ? ['run', '-A'] : [];
// The command a user runs: dist/cli.js, or its source where these specs run on lib/ itself.
const source = process.execArgv.some((a) => a.includes('mpkit-source'));
const cli = here(source ? '../../lib/cli.ts' : '../../dist/cli.js');
const nodeArgs = 'Deno' in globalThis || 'Bun' in globalThis ? [] : process.execArgv;

let server: RedisServer;
let spaces = 0;
/** A connection in a namespace of the test's own. */
const open = async (namespace = `spec${++spaces}`) => ({ c: await connect(server.url, { namespace }), namespace });

interface Host { child: ChildProcess; name: string; stderr: string; exited: Promise<number | null> }

/** `mpkit worker` as its own process, as on another machine; resolves once it serves. */
async function workerHost(namespace: string, name: string, processes: number, lease = 1): Promise<Host> {
  const child = spawn(process.execPath, [...runtimeArgs, ...nodeArgs, cli, 'worker', '--url', server.url, '--module', tasks, '--processes', String(processes), '--namespace', namespace, '--lease', String(lease)], {
    env: { ...process.env, MPKIT_SPEC_HOST: name }, stdio: ['ignore', 'inherit', 'pipe'],
  });
  const host: Host = { child, name, stderr: '', exited: new Promise((resolve) => child.once('exit', (code) => resolve(code))) };
  process.once('exit', () => child.kill('SIGKILL')); // a spec file that crashes leaves no host behind
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d) => { host.stderr += d; if (host.stderr.includes('serving pool')) resolve(); });
    void host.exited.then((code) => reject(new Error(`mpkit worker ${name} exited with ${code}:\n${host.stderr}`)));
  });
  return host;
}

const stopHost = async (h: Host) => { if (h.child.exitCode === null && h.child.signalCode === null) h.child.kill('SIGTERM'); return h.exited; };

if (missing) {
  console.log(`cluster specs not run: ${missing}`);
  test.skip(`mpkit/cluster against redis-server (${missing})`, () => {});
} else {
  test.before(async () => { server = await startRedis(); });
  test.after(async () => { await server?.stop(); });

  test('list and dict: one object from two connections, with mp.Manager\'s methods and errors', async () => {
    const { c, namespace } = await open();
    const { c: other } = await open(namespace);
    const a = c.list<number>('l'), b = other.list<number>('l');
    await a.extend([3, 1, 2]);
    await b.append(5);
    await a.insert(1, 9);
    assert.equal(await b.toArray(), [3, 9, 1, 2, 5]);
    assert.is(await b.pop(1), 9);
    assert.is(await a.pop(), 5);
    await b.sort();
    assert.equal(await a.toArray(), [1, 2, 3]);
    await a.reverse();
    assert.equal(await b.slice(0, -1), [3, 2]);
    assert.is(await a.index(2), 1);
    assert.is(await a.count(7), 0);
    assert.is(await b.get(-1), 1);
    await b.set(0, 30);
    assert.is(await a.get(0), 30);
    await rejects(a.get(3), /Index 3 is out of range for a list of 3/);
    await rejects(a.set(5, 1), /out of range/);
    await rejects(a.pop(7), /out of range/);
    await rejects(a.remove(99), /not in the list/);
    const d = c.dict<unknown>('d'), e = other.dict<unknown>('d');
    await d.set('a', new Map([[1, 'one']]));
    await d.set(1, -0);
    await e.update({ b: [1n, new Date(0)] });
    assert.ok(await e.has(1) && !(await e.has('1')), 'the number key 1 and the string "1" stay two keys');
    assert.equal(await e.get('a'), new Map([[1, 'one']]));
    assert.ok(Object.is(await e.get(1), -0), '-0 stays -0');
    assert.equal(await d.get('b'), [1n, new Date(0)]);
    assert.equal(await d.setdefault('a', 'no'), new Map([[1, 'one']]), 'setdefault keeps what is there');
    assert.is(await e.setdefault('c', 'yes'), 'yes');
    await d.delete('c');
    assert.is(await d.pop('zz', 'fallback'), 'fallback');
    await rejects(d.delete('zz'), /No key "zz"/);
    assert.is(await e.length, 3);
    await rejects(d.set({} as never, 1), /keys are strings or finite numbers/);
    c.close(); other.close();
  });

  test('what cannot be sent is refused at the sender, and a cluster object travels by its name', async () => {
    const { c } = await open();
    const l = c.list<unknown>('l');
    await rejects(l.append({ onDone: () => 1 }), /value\.onDone is a function/);
    await rejects(l.append(Value('i', 1)), /cannot reach another host/);
    assert.is(await l.length, 0, 'nothing half-sent');
    const inner = c.Queue<string>('inner');
    await l.append({ q: inner });
    const { q } = await l.get(0) as { q: typeof inner };
    await q.put('through the name');
    assert.is(await inner.get({ timeout: 5 }), 'through the name');
    assert.throws(() => c.list(''), /needs a name/);
    c.close();
  });

  test('Value: initial written once, add() atomic across connections, typecodes checked', async () => {
    const { c, namespace } = await open();
    const { c: other } = await open(namespace);
    const v = c.Value('n', 'i', 0), w = other.Value('n', 'i', 100);
    assert.is(await v.get(), 0);
    await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? v : w).add(1)));
    assert.is(await v.get(), 200, 'the first initial value wins, and no add is lost');
    await rejects(v.set(3.5), /whole numbers/);
    const big = c.Value('big', 'q', 2n ** 60n);
    assert.is(await big.add(1), 2n ** 60n + 1n);
    const d = c.Value('d', 'd', 0.5);
    assert.is(await d.add(0.25), 0.75);
    const any = c.Value<unknown>('any', null, { a: [1] });
    assert.equal(await any.get(), { a: [1] });
    await rejects(any.add(1), /needs a number typecode/);
    assert.throws(() => c.Value('x', 'z', 0), /Unknown typecode "z"/);
    c.close(); other.close();
  });

  test('Queue: a blocked get is woken by a put on another connection; bounds, Empty and Full', async () => {
    const { c, namespace } = await open();
    const { c: other } = await open(namespace);
    const q = c.Queue<number>('q', 2), r = other.Queue<number>('q', 2);
    const got = q.get({ timeout: 10 });
    await r.put(7);
    assert.is(await got, 7);
    await r.put(1); await r.put(2);
    assert.ok(await q.full());
    await rejects(r.put(3, { timeout: 0.1 }), Full);
    await rejects(r.putNowait(3), Full);
    const waiting = r.put(3, { timeout: 10 }); // waits for room
    assert.is(await q.get(), 1);
    await waiting;
    assert.equal([await q.get(), await q.get()], [2, 3]);
    await rejects(q.get({ timeout: 0.1 }), Empty);
    await rejects(q.getNowait(), Empty);
    const ac = new AbortController();
    const aborted = q.get({ signal: ac.signal });
    ac.abort(new Error('no longer needed'));
    await rejects(aborted, /no longer needed/);
    await r.put(4);
    assert.is(await q.get({ timeout: 5 }), 4, 'the aborted get took nothing');
    c.close(); other.close();
  });

  test('JoinableQueue: join() returns once every item put is marked done', async () => {
    const { c, namespace } = await open();
    const { c: other } = await open(namespace);
    const q = c.JoinableQueue<number>('j'), r = other.JoinableQueue<number>('j');
    for (let i = 0; i < 5; i++) await q.put(i);
    assert.is(await q.join(0.05), false);
    const joined = q.join(10);
    for (let i = 0; i < 5; i++) { await r.get(); await r.taskDone(); }
    assert.is(await joined, true);
    await rejects(r.taskDone(), /more times than there were items/);
    c.close(); other.close();
  });

  test('Event: set() on one connection wakes wait() on another; timeouts and abort', async () => {
    const { c, namespace } = await open();
    const { c: other } = await open(namespace);
    const e = c.Event('e'), f = other.Event('e');
    assert.is(await e.wait(0.05), false);
    const woken = e.wait(10);
    await f.set();
    assert.is(await woken, true);
    assert.ok(await e.isSet());
    await f.clear();
    const ac = new AbortController();
    const aborted = e.wait(null, { signal: ac.signal });
    ac.abort(new Error('stop waiting'));
    await rejects(aborted, /stop waiting/);
    c.close(); other.close();
  });

  test('Lock: leases with rising fencing numbers; a killed holder loses its lease after it runs out', async () => {
    const { c, namespace } = await open();
    const lock = c.Lock('guard', { lease: 1 });
    const first = await lock.acquire();
    assert.ok(first && first >= 1);
    assert.is(await lock.acquire({ timeout: 0.1 }), false);
    assert.is(await lock.acquire({ blocking: false }), false);
    await lock.release();
    await rejects(lock.release(), /holds no lease/);
    // Another process takes it and is killed while holding it.
    const holder = spawn(process.execPath, [...runtimeArgs, here('../fixtures/programs/cluster_holder.mjs'), server.url, namespace, 'guard', '1'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const theirs = await new Promise<number>((resolve, reject) => {
      let out = '';
      holder.stdout!.on('data', (d) => { out += d; const m = /HOLDS (\d+)/.exec(out); if (m) resolve(Number(m[1])); });
      holder.once('exit', (code) => reject(new Error(`the holder exited with ${code}`)));
    });
    assert.ok(theirs > (first as number));
    assert.is(await lock.acquire({ timeout: 1.5 }), false, 'a live holder renews its lease: it is not taken from it');
    holder.kill('SIGKILL');
    const mine = await lock.acquire({ timeout: 10 });
    assert.ok(mine && mine > theirs, `after the dead holder's lease, the next fence (${mine}) is higher than its (${theirs})`);
    await lock.release();
    {
      await using held = await lock.hold({ timeout: 5 });
      assert.ok(held.fence > (mine as number));
      assert.ok(await lock.locked());
    }
    assert.not.ok(await lock.locked(), 'leaving the block released it');
    c.close();
  });

  test('Lock: a holder that stalls past its lease is told, by its signal and by release()', async () => {
    const { c, namespace } = await open();
    const { c: other } = await open(namespace);
    const lock = c.Lock('stall', { lease: 0.5 });
    const held = await lock.hold();
    busy(0, 1500); // the event loop frozen: no renewal
    const theirs = await other.Lock('stall', { lease: 5 }).acquire({ timeout: 5 });
    assert.ok(theirs && theirs > held.fence);
    await new Promise((r) => setTimeout(r, 700)); // the next renewal finds the lease gone
    assert.ok(held.signal.aborted);
    await rejects(lock.release(), LeaseLostError);
    c.close(); other.close();
  });

  test('Semaphore: at most `value` leases at once', async () => {
    const { c } = await open();
    const s = c.Semaphore('s', 2, { lease: 5 });
    assert.ok(await s.acquire());
    assert.ok(await s.acquire());
    assert.is(await s.acquire({ timeout: 0.1 }), false);
    assert.is(await s.getValue(), 0);
    await s.release();
    assert.is(await s.getValue(), 1);
    assert.throws(() => c.Semaphore('t', 0), /at least 1/);
    c.close();
  });

  test('Pool: a map over two worker hosts (the mpkit worker command), every result once, in order', async () => {
    const { c, namespace } = await open();
    const hosts = [await workerHost(namespace, 'A', 2), await workerHost(namespace, 'B', 2)];
    try {
      const pool = c.Pool();
      assert.is(await pool.processes(), 4);
      const items = Array.from({ length: 400 }, (_, i) => i);
      const results = await pool.map(where, items, { chunksize: 5 });
      assert.equal(results.map((r) => r[0]), items);
      const by = new Set(results.map((r) => r[2]));
      assert.ok(by.has('A') && by.has('B'), `both hosts ran tasks: ${[...by]}`);
      assert.equal(await pool.map(square, [1, 2, 3]), [1, 4, 9]);
      assert.equal(await pool.starmap(add, [[1, 2], [3, 4]]), [3, 7]);
      assert.is(await pool.apply(add, [20, 22]), 42);
      assert.is(await pool.applyAsync(square, [12]), 144);
      await rejects(pool.apply(fail, ['bad input']), (e) => e instanceof RangeError && /bad input/.test(e.message) && /worker host/.test(String((e.cause as Error)?.message)));
      const ordered: number[] = [];
      for await (const v of pool.imap(square, [1, 2, 3, 4])) ordered.push(v);
      assert.equal(ordered, [1, 4, 9, 16]);
      const unordered: number[] = [];
      for await (const v of pool.imapUnordered(square, (async function* () { yield 5; yield 6; })())) unordered.push(v);
      assert.equal(unordered.sort(), [25, 36]);
      await rejects(pool.map('notExported', [1]), /not exported/);
      const checked = c.Pool({ module: tasks });
      await rejects(checked.apply('notExported' as never, []), /Target "notExported" is not exported from file:.*cluster_tasks\.ts: export it/);
      assert.is(await checked.apply(square, [5]), 25);
      await checked.terminate();
      await rejects(pool.map(square, [() => 1] as never), /items\[0\] is a function/);
      pool.close();
      await pool.join();
      await rejects(pool.map(square, [1]), /closed|terminated/);
    } finally {
      await Promise.all(hosts.map(stopHost));
    }
    c.close();
  });

  test('Pool: a worker host killed mid-map; another takes its tasks over after the lease, and each result comes once', async () => {
    const { c, namespace } = await open();
    const a = await workerHost(namespace, 'A', 2, 1), b = await workerHost(namespace, 'B', 2, 1);
    try {
      const pool = c.Pool();
      const items = Array.from({ length: 60 }, (_, i) => i);
      const mapped = pool.starmap(busy, items.map((i) => [i, 100] as [number, number]), { chunksize: 1 });
      await new Promise((r) => setTimeout(r, 500));
      a.child.kill('SIGKILL');
      assert.equal(await mapped, items);
      const after = await pool.map(where, Array.from({ length: 10 }, (_, i) => i), { chunksize: 1 });
      assert.ok(after.every((r) => r[2] === 'B'), 'the dead host takes nothing more');
      await pool.terminate();
    } finally {
      await Promise.all([a, b].map(stopHost));
    }
    c.close();
  });

  test('Pool: an abort drops the call\'s tasks; terminate() rejects what is still out', async () => {
    const { c, namespace } = await open();
    const host = await workerHost(namespace, 'A', 1);
    try {
      const pool = c.Pool();
      const ac = new AbortController();
      const slow = pool.starmap(busy, Array.from({ length: 20 }, (_, i) => [i, 200] as [number, number]), { chunksize: 1, signal: ac.signal });
      setTimeout(() => ac.abort(new Error('user cancelled')), 300);
      await rejects(slow, /user cancelled/);
      assert.is(await pool.apply(square, [3]), 9, 'the host goes on to the next call');
      const out = pool.apply(busy, [1, 3000]).then(() => null, (e: Error) => e);
      await new Promise((r) => setTimeout(r, 200));
      await pool.terminate();
      assert.match(String(await out), /terminated/);
    } finally {
      await stopHost(host);
    }
    c.close();
  });

  test('a program that never closes its cluster connection ends when its work does', () => {
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    delete env.FORCE_COLOR; // numbers printed plain
    const r = spawnSync(process.execPath, [...runtimeArgs, here('../fixtures/programs/cluster_forget.mjs'), server.url, `spec${++spaces}`], { encoding: 'utf8', timeout: 60_000, env });
    assert.is(r.signal, null, 'not killed at the bound: it ended by itself');
    assert.is(r.status, 0, r.stderr);
    assert.is(r.stdout.trim(), '3 x true', JSON.stringify(r.stdout));
  });

  test('a wrong address is one clear error; so are bad arguments to the worker command', async () => {
    await rejects(connect('http://example'), /not a Redis address/);
    await rejects(connect('redis://127.0.0.1:1', { connectTimeout: 2 }), /Could not reach Redis at redis:\/\/127\.0\.0\.1:1/);
    await rejects(connect(server.url, { namespace: 'a b' }), /namespace is 1 to 100/);
    const r = spawnSync(process.execPath, [...runtimeArgs, ...nodeArgs, cli, 'worker', '--module', tasks], { encoding: 'utf8', timeout: 30_000 });
    assert.is(r.status, 2);
    assert.match(r.stderr, /--url is needed/);
  });
}

test.run();
