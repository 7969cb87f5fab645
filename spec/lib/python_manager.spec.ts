// mpkit as a client of a Python manager: a real multiprocessing SyncManager in python3, spoken to
// in CPython's protocol (both generations of its handshake), its proxies used through mpkit's
// proxy API, and its objects shared with Python clients at the same time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as mp from 'mpkit';
import { rejects } from '../fixtures/rejects.ts';

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const KEY = 'spec key';

/** A Python SyncManager on a free loopback port; it shuts down when its standard input closes. */
async function pythonManager(handshake?: '3.12'): Promise<{ port: number; stop(): Promise<void> }> {
  const py: ChildProcess = spawn('python3', [fixture('python_manager.py'), KEY, ...(handshake ? ['--handshake', handshake] : [])], { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    py.stdout!.on('data', (d) => { out += d; const m = /READY (\d+)/.exec(out); if (m) resolve(Number(m[1])); });
    py.once('exit', (code) => reject(new Error(`python_manager.py exited with ${code} before it was ready`)));
  });
  return { port, stop: () => new Promise((resolve) => { py.once('exit', () => resolve()); py.stdin!.end(); }) };
}

/** Runs python_client.py to its end; resolves with what it printed. */
function pythonClient(port: number, action: string, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const py = spawn('python3', [fixture('python_client.py'), String(port), KEY, action, String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    py.stdout.on('data', (d) => { out += d; });
    py.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`python_client.py ${action} exited with ${code}`))));
  });
}

const connect = (port: number, authkey = KEY) => new mp.SyncManager({ address: { host: '127.0.0.1', port }, authkey, protocol: 'python' }).connect();

for (const handshake of [undefined, '3.12'] as const) {
  test(`SyncManager's types through mpkit's proxies, ${handshake ? 'with the 3.12 handshake (named digests)' : 'with python3\'s own handshake (3.11: HMAC-MD5)'}`, async () => {
    const server = await pythonManager(handshake);
    const manager = await connect(server.port);
    try {
      const list = await manager.list<unknown>([1, 2]);
      await list.append('three');
      assert.equal(await list.toArray(), [1, 2, 'three']);
      assert.is(await list.length, 3);
      assert.equal(await list.slice(1), [2, 'three']);
      assert.is(await list.pop(), 'three');
      const dict = await manager.dict<unknown>({ a: 1 });
      await dict.set('b', [1, 2n ** 70n]);
      assert.equal(await dict.toObject(), { a: 1, b: [1, 2n ** 70n] });
      assert.equal(await dict.items(), [['a', 1], ['b', [1, 2n ** 70n]]]);
      await rejects(dict.pop('missing'), (e) => e instanceof Error && e.name === 'KeyError' && /missing/.test(e.message));
      const value = await manager.Value('d', 1.5);
      await value.set(2.25);
      assert.is(await value.get(), 2.25);
      const array = await manager.Array('i', [1, 2, 3]);
      await array.set(0, 9);
      assert.equal(await array.toArray(), [9, 2, 3]);
      const ns = await manager.Namespace({ x: 1 });
      await ns.set('y', 'why');
      assert.equal(await ns.toObject(), { x: 1, y: 'why' });
      const lock = await manager.Lock();
      assert.ok(await lock.acquire());
      assert.not.ok(await lock.acquire({ timeout: 0.05 }), 'held: a timed acquire gives up');
      await lock.release();
      const rlock = await manager.RLock();
      assert.ok(await rlock.acquire() && await rlock.acquire(), 'reentrant');
      const sem = await manager.Semaphore(2);
      assert.ok(await sem.acquire() && await sem.acquire());
      assert.not.ok(await sem.acquire({ blocking: false }));
      await rejects(sem.getValue(), /does not expose its value/);
      const event = await manager.Event();
      assert.not.ok(await event.wait(0.05));
      await event.set();
      assert.ok(await event.isSet() && await event.wait(1));
      const cond = await manager.Condition();
      await cond.acquire();
      assert.not.ok(await cond.wait(0.05), 'no one notified');
      await cond.release();
      const barrier = await manager.Barrier(1);
      assert.is(await barrier.wait(5), 0);
      assert.is(await barrier.parties, 1);
      const queue = await manager.Queue<number>();
      await queue.put(7);
      assert.is(await queue.get(), 7);
      await rejects(queue.get({ timeout: 0.05 }), mp.Empty);
      const counter = await manager.get<{ increment(by: number): number; value(): number }>('Counter', 10);
      assert.is(await counter.increment(5), 15);
      await rejects((counter as unknown as { reset(): Promise<void> }).reset(), /does not expose reset\(\): it offers increment, value/);
      const outer = await manager.list<mp.DictProxy<unknown>>([]);
      await outer.append(dict);
      const inner = await outer.get(0);
      assert.equal(await inner.toObject(), { a: 1, b: [1, 2n ** 70n] }, 'a proxy inside a value comes back as a proxy of the same dict');
      assert.throws(() => new mp.Process({ target: 'x', args: [list] }).start(), /A proxy of a Python manager \(list\) cannot be sent to another process/);
    } finally {
      manager.disconnect();
      await server.stop();
    }
  });
}

test('a wrong authkey is refused, and nothing is read from a peer that has not proved it', async () => {
  const server = await pythonManager();
  try {
    await rejects(connect(server.port, 'wrong'), (e) => e instanceof Error && e.name === 'AuthenticationError' && /refused the authkey/.test(e.message));
    assert.throws(() => new mp.SyncManager({ address: { host: '127.0.0.1', port: server.port }, protocol: 'python' }), /Python reaches a manager by its address and authkey: pass the authkey/);
  } finally {
    await server.stop();
  }
});

test('Python and TypeScript processes share one list, one Value, one Queue and one Lock', async () => {
  const server = await pythonManager();
  const manager = await connect(server.port);
  try {
    const items = await manager.create<mp.ListProxy<string>>('shared_list');
    const value = await manager.create<mp.ValueProxy<number>>('shared_value');
    const queue = await manager.create<mp.QueueProxy<number | null>>('shared_queue');
    const lock = await manager.create<mp.LockProxy>('shared_lock');

    // Both languages append; both see all of it.
    await Promise.all([pythonClient(server.port, 'append', 50), (async () => { for (let i = 0; i < 50; i++) await items.append(`ts-${i}`); })()]);
    const all = await items.toArray();
    assert.is(all.length, 100);
    assert.equal(all.filter((s) => s.startsWith('py-')), Array.from({ length: 50 }, (_, i) => `py-${i}`), 'Python\'s in its order');
    assert.is(await value.get(), 50, 'set by Python, read here');

    // A Python producer, a TypeScript consumer: every item once.
    const produced = pythonClient(server.port, 'produce', 200);
    const got: number[] = [];
    for (let item = await queue.get({ timeout: 60 }); item !== null; item = await queue.get({ timeout: 60 })) got.push(item);
    await produced;
    assert.equal(got, Array.from({ length: 200 }, (_, i) => i));

    // One lock, taken in turn from both languages, keeps the count exact.
    await value.set(0);
    const python = pythonClient(server.port, 'count', 100);
    for (let i = 0; i < 100; i++) {
      await lock.acquire();
      try { await value.set(await value.get() + 1); } finally { await lock.release(); }
    }
    await python;
    assert.is(await value.get(), 200);
  } finally {
    manager.disconnect();
    await server.stop();
  }
});


test('Python\'s SyncManager client uses an mpkit manager that speaks its protocol, and so does mpkit', async () => {
  const manager = await mp.Manager({ address: { host: '127.0.0.1', port: 0 }, authkey: KEY, protocol: 'python', module: null });
  try {
    const { port } = manager.address as { port: number };
    const lines = await new Promise<string[]>((resolve, reject) => {
      const py = spawn('python3', [fixture('python_sync_client.py'), String(port), KEY], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      py.stdout.on('data', (d) => { out += d; });
      py.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n')) : reject(new Error(`python_sync_client.py exited with ${code}: ${out}`))));
    });
    assert.equal(lines.filter((l) => !l.startsWith('ok ')), ['done'], 'every check of the Python client passed');
    assert.is(lines.length, 12);
    const list = await manager.list<number>([1, 2]);
    await list.append(3);
    assert.equal(await list.toArray(), [1, 2, 3], 'mpkit\'s own proxies speak the same protocol to it');
  } finally {
    await manager.shutdown();
  }
});

test('an mpkit manager speaking CPython\'s protocol refuses a Python client with the wrong key', async () => {
  const manager = await mp.Manager({ address: { host: '127.0.0.1', port: 0 }, authkey: KEY, protocol: 'python', module: null });
  try {
    const { port } = manager.address as { port: number };
    const said = await new Promise<string>((resolve) => {
      const code = `from multiprocessing.managers import SyncManager\ntry:\n    SyncManager(address=('127.0.0.1', ${port}), authkey=b'wrong').connect()\n    print('connected')\nexcept Exception as e:\n    print(type(e).__name__)`;
      const py = spawn('python3', ['-c', code], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      py.stdout.on('data', (d) => { out += d; });
      py.once('exit', () => resolve(out.trim()));
    });
    assert.is(said, 'AuthenticationError');
    assert.equal(await (await manager.list([1])).toArray(), [1], 'and goes on serving those with the key');
  } finally {
    await manager.shutdown();
  }
});

test.run();
