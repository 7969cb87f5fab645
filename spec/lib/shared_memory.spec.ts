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
  assert.throws(() => sl.get(7), /out of range/);
  assert.throws(() => sl.set(0, {} as never), /holds numbers/);
  assert.throws(() => sl.set(0, 2n ** 64n), /64 bits/);
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

test.run();
