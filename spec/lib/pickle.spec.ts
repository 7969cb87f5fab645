// mpkit/pickle against CPython's own pickle: every value Python writes comes back from mpkit as
// the same value of the same type; what would run code is refused by name; and no input, however
// mangled, does anything but decode or throw PickleError.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BUILTINS, dumps, loads, PickleError, PyGlobal, PyObject, PythonError, tuple } from 'mpkit/pickle';

const helper = fileURLToPath(new URL('../fixtures/pickle_roundtrip.py', import.meta.url));
const python = (args: string[], input?: string | Uint8Array) => execFileSync('python3', args, { input, maxBuffer: 64 * 2 ** 20 }).toString();
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
const fromB64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));
const made = python([helper, 'make']).trim().split('\n').map((line) => { const [protocol, data] = line.split(' '); return { protocol: Number(protocol), data: fromB64(data) }; });

test('every value Python pickles (protocols 2, 4, 5) comes back to Python unchanged from mpkit (protocols 2 and 4)', () => {
  const lines: string[] = [];
  made.forEach(({ protocol, data }, i) => {
    const value = loads(data);
    for (const p of [2, 4] as const) lines.push(`${Math.floor(i / 3)} ${protocol}->${p} ${b64(dumps(value, { protocol: p }))}`);
  });
  const verdicts = python([helper, 'check'], lines.join('\n')).trim().split('\n');
  assert.is(verdicts.length, lines.length);
  assert.equal(verdicts.filter((v) => v !== 'ok'), []);
});

test('Python\'s values as JavaScript sees them', () => {
  const of = (expr: string, protocol = 4) => loads(fromB64(python(['-c', `import pickle, base64; print(base64.b64encode(pickle.dumps(${expr}, protocol=${protocol})).decode())`]).trim()));
  assert.equal(of('[1, 2**53 - 1, 2**53, -2**70, 1.5, "é", b"\\x00", None, True]'), [1, 2 ** 53 - 1, 2n ** 53n, -(2n ** 70n), 1.5, 'é', new Uint8Array([0]), null, true]);
  const t = of('(1, [2])') as unknown[];
  assert.ok(Object.isFrozen(t) && Array.isArray(t), 'a tuple is a frozen Array');
  assert.equal(of('{"a": {"b": 1}}'), { a: { b: 1 } }, 'a dict of str keys is a plain object');
  assert.equal(of('{1: "x", (1, 2): "y"}'), new Map<unknown, unknown>([[1, 'x'], [tuple(1, 2), 'y']]), 'other keys make a Map');
  assert.equal(of('{"b": 1, "1": 2}'), new Map([['b', 1], ['1', 2]]), 'so does an order a plain object would not keep');
  assert.equal(of('{3, 4}'), new Set([3, 4]));
  const shared = of('(lambda l: [l, l])([1])', 2) as unknown[][];
  assert.is(shared[0], shared[1], 'one object twice in Python is one object here');
  const cycle = of('(lambda l: (l.append(l), l)[1])([])') as unknown[];
  assert.is(cycle[0], cycle, 'a list that holds itself');
  const e = of('KeyError("missing")');
  assert.instance(e, PythonError);
  assert.is((e as PythonError).name, 'KeyError');
  assert.equal((e as PythonError).args, ['missing']);
});

test('JavaScript values Python has no word for are refused at the sender, by name', () => {
  assert.throws(() => dumps([1, undefined]), (e: Error) => e instanceof PickleError && /undefined has no|Python has no undefined/.test(e.message));
  assert.throws(() => dumps({ f() {} }), /A function cannot be pickled/);
  assert.throws(() => dumps(Symbol('s')), /A symbol cannot be pickled/);
  assert.throws(() => dumps(new Date(0)), /A Date cannot be pickled: send its fields as a plain object/);
  assert.throws(() => dumps(new Int32Array(2)), /A Int32Array cannot be pickled/);
  assert.throws(() => dumps(1, { protocol: 3 as 4 }), /Pickle protocol 3 is not written here: use 2 or 4/);
  const deep: unknown[] = [];
  let at = deep;
  for (let i = 0; i < 2000; i++) { const next: unknown[] = []; at.push(next); at = next; }
  assert.throws(() => dumps(deep), /nests deeper than maxDepth \(1000\)/);
});

test('a hostile pickle runs nothing: os.system and every global outside the allow-list are refused by name', () => {
  // What `pickle.loads` in Python would run: os.system('touch PWNED'), protocol 2 by hand.
  const evil = new Uint8Array([0x80, 2, ...new TextEncoder().encode('cos\nsystem\n'), 0x58, 11, 0, 0, 0, ...new TextEncoder().encode('touch PWNED'), 0x85, 0x52, 0x2e]);
  assert.throws(() => loads(evil), /Refused to load the global os\.system: it is not allowed here/);
  const viaPython = fromB64(python(['-c', 'import pickle, base64, subprocess; print(base64.b64encode(pickle.dumps(subprocess.Popen)).decode())']).trim());
  assert.throws(() => loads(viaPython), /Refused to load the global subprocess\.Popen/);
  for (const [name, op] of [['INST', 0x69], ['OBJ', 0x6f], ['PERSID', 0x50], ['BINPERSID', 0x51], ['EXT1', 0x82], ['NEXT_BUFFER', 0x97]] as const) {
    assert.throws(() => loads(new Uint8Array([0x80, 4, 0x28, op, 0x2e])), new RegExp(`Refused opcode ${name}`));
  }
  assert.throws(() => loads(new Uint8Array([0x80, 4, 0x4e, 0x4e, 0x52, 0x2e])), /REDUCE of something other than an allowed global/);
  assert.throws(() => loads(new Uint8Array([0x80, 6, 0x4e, 0x2e])), /protocol 6 is newer than 5/);
});

test('an allowed class is kept as a PyObject and written back as the same class', () => {
  const token = fromB64(python(['-c', "import pickle, base64; from multiprocessing.managers import Token; print(base64.b64encode(pickle.dumps(Token('list', ('127.0.0.1', 5000), '7f'))).decode())"]).trim());
  assert.throws(() => loads(token), /Refused to load the global multiprocessing\.managers\.Token/);
  const t = loads(token, { allow: { 'multiprocessing.managers.Token': 'object' } }) as PyObject;
  assert.instance(t, PyObject);
  assert.equal(t.cls, new PyGlobal('multiprocessing.managers', 'Token'));
  assert.equal(t.state, tuple('list', tuple('127.0.0.1', 5000), '7f'));
  assert.is(python(['-c', 'import pickle, sys; print(pickle.loads(sys.stdin.buffer.read()))'], dumps(t)).trim(), "Token(typeid='list', address=('127.0.0.1', 5000), id='7f')");
  assert.ok('builtins.set' in BUILTINS && !('builtins.eval' in BUILTINS) && !('builtins.getattr' in BUILTINS));
});

test('size, nesting and memo are capped, each with an error that says which cap and how to raise it', () => {
  assert.throws(() => loads(new Uint8Array(100), { maxBytes: 10 }), /100 bytes, over maxBytes \(10\): raise maxBytes/);
  const marks = new Uint8Array([0x80, 4, ...new Array(2000).fill(0x28), 0x2e]);
  assert.throws(() => loads(marks), /More open MARKs than maxDepth \(1000\)/);
  const nested = new Uint8Array([0x80, 4, 0x5d, ...new Array(1500).fill(0x85), 0x2e]); // [] wrapped in 1,500 one-tuples
  assert.throws(() => loads(nested), /Nesting deeper than maxDepth \(1000\)/);
  assert.is((loads(nested, { maxDepth: 2000 }) as unknown[]).length, 1);
  const memo = new Uint8Array([0x80, 4, 0x4e, ...new Array(50).fill(0x94), 0x2e]);
  assert.throws(() => loads(memo, { maxMemo: 10 }), /More memo entries than maxMemo \(10\)/);
  assert.throws(() => loads(new Uint8Array([0x80, 4, 0x8d, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f])), /A length runs past the end/);
  assert.throws(() => loads(new Uint8Array([0x80, 4, 0x4a, 1])), /truncated/);
});

// A seeded generator, so that a failure can be replayed: each input is a pickle Python wrote, mutated.
function random(seed: number) {
  return () => { seed = (seed * 1664525 + 1013904223) >>> 0; return seed / 2 ** 32; };
}
function mutate(data: Uint8Array, next: () => number): Uint8Array {
  const b = [...data];
  const pick = () => Math.floor(next() * Math.max(1, b.length));
  for (let edits = 1 + Math.floor(next() * 4); edits > 0; edits--) {
    const kind = Math.floor(next() * 5);
    if (kind === 0) b[pick()] = Math.floor(next() * 256);
    else if (kind === 1) b.splice(pick(), 0, Math.floor(next() * 256));
    else if (kind === 2) b.splice(pick(), 1);
    else if (kind === 3) b.length = pick();
    else { const from = pick(); b.splice(pick(), 0, ...b.slice(from, from + 1 + Math.floor(next() * 8))); }
  }
  return Uint8Array.from(b);
}

test('fuzz: 20,000 mutated and random pickles decode or throw PickleError, never anything else', () => {
  const next = random(20261202);
  const failures: string[] = [];
  const small = made.filter(({ data }) => data.length < 4096);
  for (let i = 0; i < 20_000; i++) {
    const input = i % 10 === 9 ? Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256)) : mutate(small[i % small.length].data, next);
    try {
      loads(input);
    } catch (e) {
      if (!(e instanceof PickleError) && failures.length < 5) failures.push(`${(e as Error).name}: ${(e as Error).message} for ${b64(input)}`);
    }
  }
  assert.equal(failures, []);
});

test('inputs built to be slow decode in one pass: a megabyte of DUP, APPENDS, memo reads and huge ints', () => {
  const mb = 2 ** 20;
  const appends = new Uint8Array([0x80, 4, 0x5d, 0x94, 0x28, ...new Array(mb).fill(0).flatMap(() => [0x68, 0]), 0x65, 0x2e]); // list holding itself a million times
  const list = loads(appends) as unknown[];
  assert.is(list.length, mb);
  assert.is(list[mb - 1], list);
  const big = new Uint8Array([0x80, 4, 0x8b, 0, 0, 0x10, 0, ...new Array(mb).fill(0x7f), 0x2e]); // one int of 8 million bits
  assert.is(typeof loads(big), 'bigint');
  const dups = new Uint8Array([0x80, 4, 0x4e, ...new Array(mb).fill(0x32), 0x2e]);
  assert.throws(() => loads(dups), /STOP with the stack not holding exactly one value/);
});

test.run();
