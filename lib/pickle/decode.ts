// A pickle decoder that executes nothing: it reads the opcodes of protocols 2 to 5 that carry data,
// looks every global up in an allow-list, and refuses anything else with the opcode's or global's
// name. Each opcode costs time in proportion to the bytes it reads or the items it moves, and every
// item is moved once, so a decode is linear in its input; size, nesting and memo are capped.
import { BUILTINS, python3Name, type AllowList } from './allowed.ts';
import { OP, opName } from './opcodes.ts';
import { fromWtf8 } from './text.ts';
import { PickleError, PyGlobal, PyObject, PythonError, SETSTATE } from './values.ts';

export interface LoadOptions {
  /** Globals allowed beyond the built-in ones (containers, bytes, slices, common exceptions). */
  allow?: AllowList;
  /** The largest pickle read, in bytes (default 256 MiB). */
  maxBytes?: number;
  /** The deepest nesting of containers written out in the pickle, and of MARKs (default 1,000). A
   * container read again from the memo counts where it was first made, so the value itself may be
   * deeper: code that walks it should not recurse without a bound. */
  maxDepth?: number;
  /** The most memo entries (default 1,000,000). */
  maxMemo?: number;
}

const MARK = Symbol('mark');
const ANY_PROTOCOL_TEXT_OPS = new Set<number>([OP.INT, OP.LONG, OP.FLOAT, OP.STRING, OP.UNICODE, OP.GET, OP.PUT, OP.INST, OP.OBJ, OP.PERSID]);

/** The value of a pickle, built only from allowed types. Throws PickleError for anything else. */
export function loads(data: Uint8Array, options: LoadOptions = {}): unknown {
  const maxBytes = options.maxBytes ?? 256 * 2 ** 20, maxDepth = options.maxDepth ?? 1000, maxMemo = options.maxMemo ?? 1_000_000;
  if (!(data instanceof Uint8Array)) throw new TypeError('loads() takes the pickle as a Uint8Array');
  if (data.length > maxBytes) throw new PickleError(`The pickle is ${data.length} bytes, over maxBytes (${maxBytes}): raise maxBytes if it is expected`);
  const allow = { ...BUILTINS, ...options.allow };
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const stack: unknown[] = [];
  const marks: number[] = [];
  const memo = new Map<number, unknown>();
  // The nesting depth of each container made here: one more than its deepest item's. An item read
  // again (GET, DUP) adds nothing: it was counted where it was made, and a cycle would count for ever.
  const depths = new WeakMap<object, number>();
  const again = new WeakSet<object>();
  let at = 0;

  const fail = (message: string): never => { throw new PickleError(`${message} (at byte ${at})`); };
  const need = (n: number) => { if (n > data.length - at || n < 0) fail('The pickle is truncated'); };
  const u8 = () => { need(1); return data[at++]; };
  const u16 = () => { need(2); const v = view.getUint16(at, true); at += 2; return v; };
  const u32 = () => { need(4); const v = view.getUint32(at, true); at += 4; return v; };
  const i32 = () => { need(4); const v = view.getInt32(at, true); at += 4; return v; };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(at, true); at += 8;
    if (v > BigInt(data.length)) fail('A length runs past the end of the pickle');
    return Number(v);
  };
  const bytes = (n: number) => { need(n); const b = new Uint8Array(n); b.set(data.subarray(at, at + n)); at += n; return b; }; // a copy, and never a Buffer
  const line = () => {
    const end = data.indexOf(0x0a, at);
    if (end < 0) fail('The pickle is truncated');
    const text = new TextDecoder('latin1').decode(data.subarray(at, end));
    at = end + 1;
    return text;
  };

  const depthOf = (v: unknown) => (typeof v === 'object' && v !== null && !again.has(v) ? depths.get(v) ?? 0 : 0);
  const reread = (v: unknown) => { if (typeof v === 'object' && v !== null) again.add(v); return v; };
  /** Records that `container` holds `item`, refusing nesting beyond maxDepth. */
  const holds = (container: object, item: unknown) => {
    const d = depthOf(item) + 1;
    if (d > maxDepth) fail(`Nesting deeper than maxDepth (${maxDepth})`);
    if (d > (depths.get(container) ?? 1)) depths.set(container, d);
  };
  // Tuples are frozen once the pickle is read, so that relink can still fix them in place.
  const tuples: unknown[][] = [];
  const tupleSet = new WeakSet<object>();
  const tuple = (items: unknown[]) => { tuples.push(items); tupleSet.add(items); return made(items, items); };
  const isTupleHere = (v: unknown): v is unknown[] => typeof v === 'object' && v !== null && tupleSet.has(v);
  const made = <T extends object>(container: T, items: Iterable<unknown>): T => {
    depths.set(container, 1);
    for (const item of items) holds(container, item);
    return container;
  };

  const pop = () => {
    if (stack.length === 0 || (marks.length && stack.length === marks[marks.length - 1])) fail('An opcode found the stack empty');
    return stack.pop();
  };
  const top = () => {
    if (stack.length === 0 || (marks.length && stack.length === marks[marks.length - 1])) fail('An opcode found the stack empty');
    return stack[stack.length - 1];
  };
  const popMark = () => {
    const from = marks.pop();
    if (from === undefined) fail('An opcode wants a MARK that is not there');
    return stack.splice(from!);
  };
  const put = (index: number) => {
    if (!memo.has(index) && memo.size >= maxMemo) fail(`More memo entries than maxMemo (${maxMemo})`);
    memo.set(index, top());
  };
  const get = (index: number) => {
    if (!memo.has(index)) fail(`Memo entry ${index} was never stored`);
    stack.push(reread(memo.get(index)));
  };
  const int = (b: Uint8Array) => { const v = littleSigned(b); return v >= -Number.MAX_SAFE_INTEGER && v <= Number.MAX_SAFE_INTEGER ? Number(v) : v; };
  const text = (b: Uint8Array) => fromWtf8(b) ?? fail('A string is not UTF-8');
  const global = (module: string, name: string) => {
    const g = python3Name(module, name);
    if (!(String(g) in allow)) fail(`Refused to load the global ${g}: it is not allowed here`);
    return g;
  };
  const setItems = (dict: unknown, items: unknown[]) => {
    if (items.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) setItem(dict, items[i], items[i + 1]);
    return dict;
  };
  // A dict is a plain object until it gets a key that is not a str, or a str key that a JavaScript
  // object would list out of the dict's order (an integer-like key after a larger one or a name);
  // then it is a Map from there on, and once the pickle is read every reference to the object is
  // pointed at the Map (relink).
  const converted = new Map<object, Map<unknown, unknown>>();
  const order = new WeakMap<object, { lastIndex: number; named: boolean }>();
  const keepsOrder = (dict: object, key: string) => {
    const o = order.get(dict) ?? { lastIndex: -1, named: false };
    order.set(dict, o);
    const index = /^(0|[1-9]\d{0,9})$/.test(key) ? Number(key) : -1;
    if (index < 0 || index >= 2 ** 32 - 1) { o.named = true; return true; }
    if (Object.hasOwn(dict, key)) return true; // a key set again keeps its place, in both languages
    if (o.named || index < o.lastIndex) return false;
    o.lastIndex = index;
    return true;
  };
  const setItem = (target: unknown, key: unknown, value: unknown) => {
    let dict = (typeof target === 'object' && target !== null && converted.get(target)) || target;
    if (!(dict instanceof Map)) {
      if (!isPlainObject(dict)) return fail('SETITEM on something other than a dict');
      if (typeof key === 'string' && keepsOrder(dict, key)) {
        Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true }); // __proto__ too, as data
        holds(dict, value);
        return;
      }
      const map = made(new Map<unknown, unknown>(Object.entries(dict)), Object.values(dict));
      converted.set(dict, map);
      dict = map;
    }
    (dict as Map<unknown, unknown>).set(key, value);
    holds(dict as Map<unknown, unknown>, value);
  };
  const call = (g: unknown, args: unknown, how: 'reduce' | 'newobj') => {
    if (!(g instanceof PyGlobal)) return fail(`${how === 'reduce' ? 'REDUCE' : 'NEWOBJ'} of something other than an allowed global`);
    if (!isTupleHere(args)) return fail(`${how === 'reduce' ? 'REDUCE' : 'NEWOBJ'} with arguments that are not a tuple`);
    const does = allow[String(g)];
    if (does === 'object') return made(new PyObject(g, args, how), args);
    if (how === 'newobj') return fail(`NEWOBJ of ${g}, which is allowed only as a function`);
    return does(args, g);
  };

  while (true) {
    const op = u8();
    switch (op) {
      case OP.PROTO: { const v = u8(); if (v > 5) fail(`Pickle protocol ${v} is newer than 5`); break; }
      case OP.FRAME: u64(); break; // frames only group reads; the whole pickle is here
      case OP.STOP: {
        if (stack.length !== 1 || marks.length) fail('STOP with the stack not holding exactly one value');
        const value = converted.size ? relink(stack[0], converted) : stack[0];
        for (const t of tuples) Object.freeze(t);
        return value;
      }
      case OP.MARK:
        if (marks.length >= maxDepth) fail(`More open MARKs than maxDepth (${maxDepth})`);
        marks.push(stack.length);
        break;
      case OP.POP: if (marks.length && stack.length === marks[marks.length - 1]) marks.pop(); else pop(); break;
      case OP.POP_MARK: popMark(); break;
      case OP.DUP: stack.push(reread(top())); break;
      case OP.NONE: stack.push(null); break;
      case OP.NEWTRUE: stack.push(true); break;
      case OP.NEWFALSE: stack.push(false); break;
      case OP.BININT: stack.push(i32()); break;
      case OP.BININT1: stack.push(u8()); break;
      case OP.BININT2: stack.push(u16()); break;
      case OP.LONG1: stack.push(int(bytes(u8()))); break;
      case OP.LONG4: { const n = i32(); if (n < 0) fail('LONG4 with a negative length'); stack.push(int(bytes(n))); break; }
      case OP.BINFLOAT: { need(8); stack.push(view.getFloat64(at, false)); at += 8; break; }
      case OP.SHORT_BINUNICODE: stack.push(text(bytes(u8()))); break;
      case OP.BINUNICODE: stack.push(text(bytes(u32()))); break;
      case OP.BINUNICODE8: stack.push(text(bytes(u64()))); break;
      // Python 2's str: bytes that Python 3 reads as text (its default encoding, ASCII; latin-1 keeps every byte).
      case OP.SHORT_BINSTRING: stack.push(new TextDecoder('latin1').decode(bytes(u8()))); break;
      case OP.BINSTRING: { const n = i32(); if (n < 0) fail('BINSTRING with a negative length'); stack.push(new TextDecoder('latin1').decode(bytes(n))); break; }
      case OP.SHORT_BINBYTES: stack.push(bytes(u8())); break;
      case OP.BINBYTES: stack.push(bytes(u32())); break;
      case OP.BINBYTES8: case OP.BYTEARRAY8: stack.push(bytes(u64())); break;
      case OP.EMPTY_LIST: stack.push(made([], [])); break;
      case OP.EMPTY_DICT: stack.push(made({}, [])); break;
      case OP.EMPTY_SET: stack.push(made(new Set(), [])); break;
      case OP.EMPTY_TUPLE: stack.push(tuple([])); break;
      case OP.LIST: { const items = popMark(); stack.push(made(items, items)); break; }
      case OP.TUPLE: stack.push(tuple(popMark())); break;
      case OP.TUPLE1: case OP.TUPLE2: case OP.TUPLE3: {
        const n = op - OP.TUPLE1 + 1, items: unknown[] = [];
        for (let i = 0; i < n; i++) items.unshift(pop());
        stack.push(tuple(items));
        break;
      }
      case OP.FROZENSET: { const items = popMark(); stack.push(made(new Set(items), items)); break; }
      case OP.DICT: { const items = popMark(); stack.push(setItems(made({}, []), items)); break; }
      case OP.APPEND: {
        const item = pop(), list = top();
        if (!Array.isArray(list) || isTupleHere(list)) fail('APPEND to something other than a list');
        (list as unknown[]).push(item);
        holds(list as unknown[], item);
        break;
      }
      case OP.APPENDS: {
        const items = popMark(), list = top();
        if (!Array.isArray(list) || isTupleHere(list)) fail('APPENDS to something other than a list');
        for (const item of items) { (list as unknown[]).push(item); holds(list as unknown[], item); }
        break;
      }
      case OP.ADDITEMS: {
        const items = popMark(), set = top();
        if (!(set instanceof Set)) fail('ADDITEMS to something other than a set');
        for (const item of items) { (set as Set<unknown>).add(item); holds(set as Set<unknown>, item); }
        break;
      }
      case OP.SETITEM: { const value = pop(), key = pop(); setItem(top(), key, value); break; }
      case OP.SETITEMS: { const items = popMark(); setItems(top(), items); break; }
      case OP.BINPUT: put(u8()); break;
      case OP.LONG_BINPUT: put(u32()); break;
      case OP.MEMOIZE: put(memo.size); break;
      case OP.BINGET: get(u8()); break;
      case OP.LONG_BINGET: get(u32()); break;
      case OP.GLOBAL: { const module = line(); stack.push(global(module, line())); break; }
      case OP.STACK_GLOBAL: {
        const name = pop(), module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL of something other than two strings');
        stack.push(global(module as string, name as string));
        break;
      }
      case OP.REDUCE: { const args = pop(), g = pop(); stack.push(call(g, args, 'reduce')); break; }
      case OP.NEWOBJ: { const args = pop(), g = pop(); stack.push(call(g, args, 'newobj')); break; }
      case OP.NEWOBJ_EX: {
        const kwargs = pop(), args = pop(), g = pop();
        if (!isPlainObject(kwargs) || Object.keys(kwargs).length) fail('NEWOBJ_EX with keyword arguments');
        stack.push(call(g, args, 'newobj'));
        break;
      }
      case OP.BUILD: {
        const state = pop(), obj = top() as { [SETSTATE]?: (s: unknown) => void } | null;
        if (typeof obj?.[SETSTATE] !== 'function') fail('BUILD on something other than an allowed object');
        obj![SETSTATE]!(state);
        holds(obj!, state);
        break;
      }
      default:
        fail(ANY_PROTOCOL_TEXT_OPS.has(op)
          ? `Refused opcode ${opName(op)}: it belongs to protocols 0 and 1 or runs code; send protocol 2 or later`
          : `Refused opcode ${opName(op)}`);
    }
  }
}

/** Points every reference to a dict that became a Map at the Map, in place (tuples are not frozen yet). */
function relink(root: unknown, converted: Map<object, Map<unknown, unknown>>): unknown {
  const fix = (v: unknown) => (typeof v === 'object' && v !== null && converted.get(v)) || v;
  const seen = new Set<unknown>(), todo = [fix(root)];
  while (todo.length) {
    const v = todo.pop();
    if (typeof v !== 'object' || v === null || seen.has(v)) continue;
    seen.add(v);
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) todo.push((v[i] = fix(v[i])));
    } else if (v instanceof Map) {
      for (const [k, item] of v) { v.set(k, fix(item)); todo.push(k, fix(item)); }
    } else if (v instanceof Set) {
      for (const item of v) todo.push(item); // a set's items are hashable in Python: never a dict
    } else if (v instanceof PyObject || v instanceof PythonError) {
      Object.assign(v, { args: fix(v.args), state: fix(v.state) });
      todo.push(v.args, v.state);
    } else if (isPlainObject(v)) {
      for (const k of Object.keys(v)) { Object.defineProperty(v, k, { value: fix(v[k]), enumerable: true, writable: true, configurable: true }); todo.push(v[k]); }
    }
  }
  return fix(root);
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && Object.getPrototypeOf(v) === Object.prototype;

/** A little-endian two's complement integer, as LONG1 and LONG4 carry it. */
function littleSigned(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  let hex = '';
  for (let i = b.length - 1; i >= 0; i--) hex += b[i].toString(16).padStart(2, '0');
  const v = BigInt(`0x${hex}`);
  return b[b.length - 1] & 0x80 ? v - (1n << BigInt(b.length * 8)) : v;
}
