import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { existsSync } from 'node:fs';
import * as mp from 'mpkit';

/** A python3 running spec/fixtures/interop.py: send a command, get its JSON answer. */
function python() {
  const child = spawn('python3', [new URL('../fixtures/interop.py', import.meta.url).pathname], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    async ask(command: string): Promise<Record<string, unknown>> {
      child.stdin.write(command + '\n');
      const { value, done } = await lines.next();
      if (done) throw new Error(`python3 ended before answering "${command}"`);
      return JSON.parse(value);
    },
    async quit() {
      child.stdin.end('quit\n');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

test('SharedMemory: create, open by name, close, unlink', () => {
  const made = new mp.SharedMemory({ create: true, size: 100 });
  assert.is(made.size, 100);
  made.buf.set([1, 2, 3]);
  const other = new mp.SharedMemory(made.name);
  assert.equal([...other.buf.subarray(0, 3)], [1, 2, 3]);
  other.close();
  other.close(); // twice is harmless
  assert.throws(() => other.buf, /is closed/);
  assert.throws(() => new mp.SharedMemory({ name: made.name, create: true, size: 1 }), /exists already/);
  made.unlink();
  assert.not.ok(existsSync(`/dev/shm/${made.name}`));
  assert.throws(() => new mp.SharedMemory(made.name), /No shared memory block is named/);
  assert.throws(() => new mp.SharedMemory({ create: true }), /size of at least 1/);
  assert.throws(() => new mp.SharedMemory({}), /name of a block/);
  assert.throws(() => new mp.SharedMemory('a/b'), /no "\/"/);
  made.close();
});

test('ShareableList: items, types, fixed room, bad input', () => {
  const sl = new mp.ShareableList<mp.Shareable>([1, 2.5, 'hi', new Uint8Array([104, 105]), true, null, 2n ** 62n]);
  assert.is(sl.length, 7);
  assert.is(sl.format, 'qd8s8sxxxxxxx?xxxxxx?xq');
  assert.equal(sl.toArray(), [1, 2.5, 'hi', new Uint8Array([104, 105]), true, null, 2n ** 62n]);
  sl[0] = 'seven77';
  sl[-1] = false;
  assert.is(sl[0], 'seven77');
  assert.is(sl.get(6), false);
  sl[1] = 3; // a float stays a float
  assert.ok(sl.format.startsWith('8sd8s'), sl.format);
  assert.throws(() => (sl[2] = 'far too long for its room'), /room for 8 bytes/);
  assert.is(sl[2], 'hi', 'a write that failed leaves the old value, as in CPython');
  assert.throws(() => sl.get(7), /out of range/);
  assert.throws(() => sl.set(0, {} as never), /holds numbers/);
  assert.throws(() => sl.set(0, 2n ** 64n), /64 bits/);
  assert.is(sl[0], 'seven77', 'and so does one that does not fit 64 bits');
  assert.is(sl.index(3), 1);
  assert.is(sl.count(null), 1);
  assert.throws(() => sl.index('nope'), /not in the ShareableList/);
  assert.is(String(new mp.ShareableList(['a', true, null], { name: `${sl.shm.name}x` })).replace(/name='.*'/, ''), "ShareableList(['a', True, None], )");
  const empty = new mp.ShareableList([]);
  assert.is(empty.length, 0);
  for (const l of [sl, empty]) { l.shm.close(); l.shm.unlink(); }
  new mp.SharedMemory(`${sl.shm.name}x`).unlink();
});

test('CPython makes a SharedMemory and a ShareableList; TypeScript opens both by name', async () => {
  const py = python();
  const names = await py.ask('make') as { shm: string; sl: string };
  const shm = new mp.SharedMemory(names.shm);
  const sl = new mp.ShareableList(null, { name: names.sl });
  assert.is(new TextDecoder().decode(shm.buf.subarray(0, 5)), 'hello');
  assert.equal(sl.toArray(), [7, 2.5, 'py', new Uint8Array([98, 121]), true, null, 2n ** 62n]);
  sl[0] = 'from ts';
  sl[1] = 0.25;
  shm.buf[0] = 'J'.charCodeAt(0);
  assert.equal(await py.ask('reread'), { list: ['from ts', 0.25, 'py', 'by', true, null, 2 ** 62], bytes: 'Jello' });
  shm.close();
  sl.shm.close();
  await py.quit();
  assert.not.ok(existsSync(`/dev/shm/${names.shm}`), 'Python unlinked what it made');
});

test('TypeScript makes them; CPython opens both by name and writes back', async () => {
  const shm = new mp.SharedMemory({ create: true, size: 64 });
  shm.buf.set(new TextEncoder().encode('hello'));
  const sl = new mp.ShareableList([7, 2.5, 'typescript!', new Uint8Array([98, 121]), true, null]);
  const py = python();
  const seen = await py.ask(`read ${shm.name} ${sl.shm.name}`);
  assert.equal(seen, {
    bytes: 'hello', size: 64, list: [7, 2.5, 'typescript!', 'by', true, null], format: 'qd16s8sxxxxxxx?xxxxxx?x',
  });
  assert.is(sl[2], 'from python');
  assert.is(sl[1], 1.5);
  assert.is(shm.buf[0], 'J'.charCodeAt(0));
  await py.quit();
  assert.ok(existsSync(`/dev/shm/${shm.name}`), "Python's tracker left our block alone");
  for (const s of [shm, sl.shm]) { s.close(); s.unlink(); }
});

test('typed slots refuse what does not fit, as ctypes does, and leave the old value', () => {
  const d = mp.Value('d', 1.5), i = mp.Value('i', 7), q = mp.Value('q', 1n);
  assert.throws(() => { d.value = 'abc' as never; }, (e: Error) => e instanceof TypeError && e.message === `'d' holds numbers, not "abc": convert it with Number() first`);
  assert.is(d.value, 1.5, 'the old value stays');
  assert.throws(() => { i.value = 3.9; }, (e: Error) => e instanceof TypeError && e.message === `'i' holds whole numbers, not 3.9: round it first (Math.round, Math.trunc)`);
  assert.throws(() => { i.value = 4n as never; }, /'i' holds whole numbers, not 4n/);
  assert.is(i.value, 7);
  q.value = 5; // a safe integer is taken and converted, where V8 alone says "Cannot convert 5 to a BigInt"
  assert.is(q.value, 5n);
  assert.throws(() => { q.value = 2 ** 60; }, /'q' holds 64-bit integers, not 1152921504606847000: pass a bigint \(this number is not a safe integer\)/);
  assert.throws(() => { q.value = 0.5; }, /'q' holds 64-bit integers, not 0.5/);
  i.value = 2 ** 31; // out of range wraps, as ctypes' c_int does
  assert.is(i.value, -(2 ** 31));
  const arr = mp.Array('H', [1, 2, 3]);
  assert.throws(() => { arr[1] = 2.5; }, /'H' holds whole numbers, not 2.5/);
  assert.throws(() => arr.set(-1, NaN), /'H' holds whole numbers, not NaN/);
  assert.equal(arr.toArray(), [1, 2, 3]);
  assert.throws(() => mp.Array('i', [1, '2' as never]), (e: Error) => e instanceof TypeError && e.message === `Item 1: 'i' holds whole numbers, not "2": convert it with Number() first`);
  assert.throws(() => mp.Value('f', null as never), /'f' holds numbers, not null/);
  assert.equal(mp.Array('Q', [1, 2n]).toArray(), [1n, 2n]);
});

test.run();
