// Values cross every boundary as structuredClone would give them, or are refused at the sender.
// fast-check makes the values: several hundred of every kind structuredClone takes, sent across
// each boundary in one go (a process per value would take minutes) and compared one by one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import * as mp from 'mpkit';
import { rejects } from '../fixtures/rejects.ts';
import { Thread } from 'mpkit/threading';
import * as targets from '../fixtures/targets.ts';

const module = new URL('../fixtures/targets.ts', import.meta.url);
const RUNS = 300;

// Everything structuredClone copies: nested objects and arrays (sparse too, null-prototype too),
// Map, Set, Date, bigint, boxed primitives, typed arrays, -0 and NaN among the doubles, undefined
// inside arrays and objects, plus errors, regular expressions and ArrayBuffers.
const errors = fc.record({ kind: fc.constantFrom(Error, TypeError, RangeError, SyntaxError), message: fc.string() }).map(({ kind, message }) => new kind(message));
const extras = fc.oneof(errors, fc.constantFrom(/a+b/g, /x/iu, /^$/m), fc.uint8Array({ maxLength: 8 }).map((b) => b.buffer), fc.constant(-0), fc.constant(NaN));
const leaf = fc.oneof(fc.anything({
  maxDepth: 3, maxKeys: 4, withBigInt: true, withBoxedValues: true, withDate: true, withMap: true, withSet: true,
  withSparseArray: true, withTypedArray: true, withNullPrototype: true,
}), extras);
const value = fc.oneof(leaf, fc.array(leaf, { maxLength: 3 }), fc.dictionary(fc.string(), leaf, { maxKeys: 3 }));

const values = () => fc.sample(value, { numRuns: RUNS, seed: 20261202 });

/**
 * structuredClone(v), as the HTML standard defines it: an object of null prototype comes back an
 * ordinary object. V8 (Node, Deno) does so, and so does mpkit on every runtime; Bun keeps the null
 * prototype, which is put right here.
 */
function cloned(v: unknown): unknown {
  const fix = (x: unknown): unknown => {
    if (typeof x !== 'object' || x === null) return x;
    if (Array.isArray(x)) { x.forEach((y, i) => { x[i] = fix(y); }); return x; }
    if (x instanceof Map) { for (const [k, y] of x) x.set(k, fix(y)); return x; }
    if (Object.getPrototypeOf(x) === null) Object.setPrototypeOf(x, Object.prototype);
    if (Object.getPrototypeOf(x) === Object.prototype) for (const k of Object.keys(x)) (x as Record<string, unknown>)[k] = fix((x as Record<string, unknown>)[k]);
    return x;
  };
  return fix(structuredClone(v));
}

/** The first value that did not arrive as structuredClone gives it, shown; null if all did. */
function firstMismatch(sent: unknown[], got: unknown[]): string | null {
  if (got.length !== sent.length) return `${got.length} values arrived, not ${sent.length}`;
  for (let i = 0; i < sent.length; i++) {
    const expected = cloned(sent[i]);
    if (!same(got[i], expected)) return `value ${i}: sent ${fc.stringify(sent[i])}, got ${fc.stringify(got[i])}`;
  }
  return null;
}

/** A TypeError matching `message`: what a value that cannot be sent is refused with. */
const rejectsType = (promise: Promise<unknown>, message: RegExp) => rejects(promise, (e) => e instanceof TypeError && message.test(e.message));

/**
 * Equal as fast-check writes them out (which tells -0, holes, boxed values, prototypes and the
 * order of a Map apart), with an ArrayBuffer's bytes and an Error's kind, message, stack and
 * cause written out too. (Bun's isDeepStrictEqual cannot match Maps keyed by equal objects.)
 */
function same(a: unknown, b: unknown): boolean {
  return fc.stringify(plain(a)) === fc.stringify(plain(b)) && typeof a === typeof b;
}

function plain(x: unknown): unknown {
  if (typeof x !== 'object' || x === null) return x;
  if (x instanceof ArrayBuffer) return { ArrayBuffer: new Uint8Array(x) };
  if (x instanceof Error) return { [x.constructor.name]: x.message, stack: x.stack, ...('cause' in x ? { cause: plain(x.cause) } : {}) };
  if (Array.isArray(x)) return x.map(plain); // map keeps holes
  if (x instanceof Map) return new Map([...x].map(([k, v]) => [plain(k), plain(v)]));
  if (x instanceof Set) return new Set([...x].map(plain));
  const proto = Object.getPrototypeOf(x);
  if (proto !== Object.prototype && proto !== null) return x;
  const out = Object.create(proto) as Record<string, unknown>;
  for (const k of Object.keys(x)) Object.defineProperty(out, k, { value: plain((x as Record<string, unknown>)[k]), enumerable: true, writable: true, configurable: true });
  return out;
}

test('a queue: any value put comes out as structuredClone gives it (shrunk to the smallest that does not)', () => {
  const q = new mp.Queue<unknown>();
  fc.assert(fc.property(value, (v) => {
    q.put(v);
    const got = q.get();
    return same(got, cloned(v));
  }), { numRuns: RUNS, seed: 20261202 });
  q.close();
});

test('Process and Thread arguments', async () => {
  const sent = values();
  for (const make of [(args: unknown[]) => new mp.Process({ target: targets.echoArgs, args: args as [mp.Queue<unknown>], module }), (args: unknown[]) => new Thread({ target: targets.echoArgs, args: args as [mp.Queue<unknown>], module })]) {
    const out = new mp.Queue<unknown[]>();
    const child = make([out, ...sent]);
    child.start();
    const got = await out.getAsync({ timeout: 60 });
    await child.join(60);
    assert.is(firstMismatch(sent, got), null);
    out.close();
  }
});

test('Queue, SimpleQueue and JoinableQueue, to a child process and back', async () => {
  const sent = values();
  for (const Kind of [mp.Queue, mp.SimpleQueue, mp.JoinableQueue]) {
    const there = new Kind<unknown>(), back = new mp.Queue<unknown>();
    const p = new mp.Process({ target: targets.relay, args: [there, back], module });
    p.start();
    for (const v of [...sent, null]) await there.putAsync(v);
    const got: unknown[] = [];
    for (let i = 0; i < sent.length; i++) got.push(await back.getAsync({ timeout: 60 }));
    await p.join(60);
    assert.is(firstMismatch(sent, got), null, Kind.name);
  }
});

test('a Pipe, to a child process and back', async () => {
  const sent = values();
  const [mine, theirs] = mp.Pipe<unknown>();
  const p = new mp.Process({ target: targets.pipeEcho, args: [theirs], module });
  p.start();
  const got: unknown[] = [];
  for (const v of sent) { mine.send(v); got.push(await mine.recvAsync()); }
  mine.send(null);
  await p.join(60);
  assert.is(firstMismatch(sent, got), null);
});

test('Pool arguments and results', async () => {
  const sent = values();
  const pool = new mp.Pool(2, { module });
  try {
    assert.is(firstMismatch(sent, await pool.map(targets.same, sent, { chunksize: 7 })), null, 'map');
    assert.is(firstMismatch(sent.slice(0, 20), await Promise.all(sent.slice(0, 20).map((v) => pool.apply(targets.same, [v])))), null, 'apply');
  } finally {
    pool.terminate();
  }
});

test('Manager values, stored and read back', async () => {
  const sent = values();
  const manager = await mp.Manager();
  try {
    const list = await manager.list<unknown>();
    await list.extend(sent);
    assert.is(firstMismatch(sent, await list.toArray()), null, 'a list');
    const dict = await manager.dict<unknown>();
    for (let i = 0; i < 30; i++) await dict.set(`k${i}`, sent[i]);
    const got: unknown[] = [];
    for (let i = 0; i < 30; i++) got.push(await dict.get(`k${i}`));
    assert.is(firstMismatch(sent.slice(0, 30), got), null, 'a dict');
  } finally {
    await manager.shutdown();
  }
});

test('cycles cross as cycles: through an object, an array, a Map, a Set and an Error, to a child and back', async () => {
  const o: Record<string, unknown> = { name: 'o' };
  const list: unknown[] = [1];
  const map = new Map<unknown, unknown>([['list', list]]);
  const error = new Error('loop');
  o.self = o;
  o.map = map;
  list.push(list, o);
  map.set('owner', o);
  o.set = new Set([o, 2]);
  error.cause = error;
  o.error = error;
  const check = (got: Record<string, unknown>) => {
    const gotMap = got.map as Map<string, unknown>, gotList = gotMap.get('list') as unknown[];
    assert.is(got.self, got);
    assert.is(gotMap.get('owner'), got);
    assert.is(gotList[1], gotList);
    assert.is(gotList[2], got);
    assert.ok((got.set as Set<unknown>).has(got));
    assert.is((got.error as Error).cause, got.error);
  };
  const q = new mp.Queue<Record<string, unknown>>();
  q.put(o);
  check(q.get());
  const back = new mp.Queue<unknown[]>();
  const p = new mp.Process({ target: targets.echoArgs, args: [back, o], module });
  p.start();
  check((await back.getAsync({ timeout: 60 }))[0] as Record<string, unknown>);
  await p.join(60);
  const manager = await mp.Manager();
  try {
    const stored = await manager.list<unknown>([o]);
    check(await stored.get(0) as Record<string, unknown>);
  } finally {
    await manager.shutdown();
  }
});

test("an Error keeps its kind, message, stack and cause; one of a kind of its own arrives as an Error", () => {
  const q = new mp.Queue<Error>();
  const inner = new RangeError('inner');
  q.put(new TypeError('outer', { cause: inner }));
  const got = q.get();
  assert.ok(got instanceof TypeError);
  assert.is(got.message, 'outer');
  assert.ok(got.cause instanceof RangeError && got.cause.stack === inner.stack);
  class Mine extends Error {}
  q.put(new Mine('mine'));
  const mine = q.get();
  assert.is(mine.constructor, Error);
  assert.is(mine.message, 'mine');
});

test('what structuredClone refuses is refused at the sender, naming where it sat, and nothing is sent', async () => {
  const refusals: [unknown, RegExp][] = [
    [[1, { onDone: () => 1 }], /^item\[1\]\.onDone is a function: functions cannot be sent to another process or thread; export it and pass its name, or send data$/],
    [{ tag: Symbol('t') }, /^item\.tag is a symbol: /],
    [new Map([['k', new WeakMap()]]), /^item\.get\("k"\) is a WeakMap: /],
    [[Promise.resolve(1)], /^item\[0\] is a Promise: await it and send its value$/],
  ];
  const q = new mp.Queue<unknown>();
  for (const [bad, message] of refusals) assert.throws(() => q.put(bad), (e: Error) => e instanceof TypeError && message.test(e.message));
  assert.is(q.qsize(), 0, 'nothing was put');
  assert.throws(() => new mp.Process({ target: targets.echoArgs, args: [q, () => 1] as never, module }).start(), /^args\[1\] is a function/);
  const pool = new mp.Pool(1, { module });
  try {
    await rejectsType(pool.map(targets.same, [1, 2, { f() {} }]), /^items\[2\]\.f is a function/);
    await rejectsType(pool.apply(targets.makeFunction), /^a result of makeFunction\(\) is a function/);
  } finally {
    pool.terminate();
  }
  const manager = await mp.Manager();
  try {
    const list = await manager.list<unknown>();
    await rejectsType(list.append({ cb() {} }), /^args\[0\]\.cb is a function/);
    assert.is(await list.length, 0);
  } finally {
    await manager.shutdown();
  }
});

test.run();
