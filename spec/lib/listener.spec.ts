import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as mp from 'mpkit';
import { AuthenticationError, BufferTooShort, Client, EOFError, Listener } from 'mpkit/connection';
import * as targets from '../fixtures/targets.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);

test('a client in another process and a listener exchange values after proving the authkey', async () => {
  using listener = await Listener.listen({ host: '127.0.0.1', port: 0 }, { authkey: 'secret' });
  const address = listener.address as { host: string; port: number };
  assert.ok(address.port > 0, 'port 0 is replaced by the one picked');
  const values = [1, 'two', { three: [3n] }, new Uint8Array([4])];
  const p = new mp.Process({ target: targets.askListener, args: [address, 'secret', values], module });
  p.start();
  const conn = await listener.accept();
  for (let i = 0; i < values.length; i++) conn.send(await conn.recvAsync());
  assert.equal(await conn.recvAsync(), values);
  await p.join(30);
  assert.is(p.exitCode, 0);
});

test('after the other end closes, what it sent is received, then EOFError', async () => {
  using listener = await Listener.listen();
  const client = await Client(listener.address);
  const server = await listener.accept();
  client.send('a');
  client.sendBytes(new TextEncoder().encode('xbytex'), 1, 4);
  client.close();
  assert.is(await server.recvAsync(), 'a');
  assert.is(new TextDecoder().decode(await server.recvBytesAsync()), 'byte');
  let error: unknown;
  try { await server.recvAsync(); } catch (e) { error = e; }
  assert.instance(error, EOFError);
  assert.ok(await server.pollAsync(), 'poll says a receive would not wait, as at EOF in CPython');
  assert.throws(() => server.send('late'), (e: unknown) => e instanceof EOFError);
  server.close();
});

test('a wrong authkey is refused, and the listener goes on to accept the next client that proves it', async () => {
  using listener = await Listener.listen(undefined, { authkey: 'right' });
  let error: unknown;
  try { await Client(listener.address, { authkey: 'wrong' }); } catch (e) { error = e; }
  assert.instance(error, AuthenticationError);
  // The refused client never reaches accept(): the next one to prove the key does.
  const good = await Client<string>(listener.address, { authkey: 'right' });
  const conn = await listener.accept();
  good.send('in');
  assert.is(await conn.recvAsync(), 'in');
  good.close();
  conn.close();
});

test('poll, recvBytesInto and maxlength follow CPython; what cannot be sent is refused before it leaves', async () => {
  using listener = await Listener.listen();
  using client = await Client(listener.address);
  using server = await listener.accept();
  assert.is(await server.pollAsync(0), false);
  assert.is(await server.pollAsync(-1), false, 'a negative timeout does not wait');
  const t0 = performance.now();
  assert.is(await server.pollAsync(0.05), false);
  assert.ok(performance.now() - t0 >= 45);
  assert.throws(() => client.send(() => 1), /cannot be sent|function/i);
  client.sendBytes(new Uint8Array([1, 2, 3, 4]));
  assert.is(await server.pollAsync(null), true);
  const buffer = new Uint8Array(3);
  let error: unknown;
  try { await server.recvBytesIntoAsync(buffer); } catch (e) { error = e; }
  assert.instance(error, BufferTooShort);
  assert.equal([...(error as BufferTooShort).bytes], [1, 2, 3, 4]);
  client.sendBytes(new Uint8Array([5, 6]));
  assert.is(await server.recvBytesIntoAsync(buffer, 1), 2);
  assert.equal([...buffer], [0, 5, 6]);
  client.sendBytes(new Uint8Array(10));
  error = undefined;
  try { await server.recvBytesAsync(4); } catch (e) { error = e; }
  assert.instance(error, RangeError);
  client.send(7);
  assert.is(await server.recvAsync(), 7, 'the connection goes on after a refused send and a rejected receive');
});

test('a Unix socket listener removes its socket file when closed; messages are iterable until EOF', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'listener-'));
  try {
    const path = join(dir, 'socket');
    const listener = await Listener.listen<number>(path);
    assert.ok(existsSync(path));
    const client = await Client<number>(path);
    const server = await listener.accept();
    for (const n of [1, 2, 3]) client.send(n);
    client.close();
    const got: number[] = [];
    for await (const n of server) got.push(n);
    assert.equal(got, [1, 2, 3]);
    listener.close();
    assert.not.ok(existsSync(path));
    let error: unknown;
    try { await listener.accept(); } catch (e) { error = e; }
    assert.match(String(error), /closed/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a frame over maxFrameBytes cuts the sender off instead of being buffered', async () => {
  using listener = await Listener.listen(undefined, { maxFrameBytes: 16 });
  using client = await Client(listener.address);
  using server = await listener.accept();
  client.sendBytes(new Uint8Array(17));
  let error: unknown;
  try { await server.recvBytesAsync(); } catch (e) { error = e; }
  assert.match(String(error), /over the limit of 16/);
});

test.run();
