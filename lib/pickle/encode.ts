// A pickle encoder for protocol 2 or 4. It writes what Python reads back as the same value, and
// refuses at once what has no Python counterpart (undefined, a function, a class instance), rather
// than send something else in its place. Shared and cyclic lists, dicts and sets stay shared.
import { OP } from './opcodes.ts';
import { toWtf8 } from './text.ts';
import { isTuple, PickleError, PyGlobal, PyObject, PySlice, PythonError } from './values.ts';

export interface DumpOptions {
  /** 2 (Python 2.3 and later) or 4 (Python 3.4 and later, the default). */
  protocol?: 2 | 4;
  /** The deepest nesting written (default 1,000). */
  maxDepth?: number;
  /** What to write in place of an object this encoder has no rule for (a PyObject, say); undefined refuses it. */
  replace?: (v: object) => unknown;
}

class Writer {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private room(n: number) {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  byte(...b: number[]) { this.room(b.length); for (const x of b) this.buf[this.length++] = x; }
  u16(v: number) { this.room(2); this.view.setUint16(this.length, v, true); this.length += 2; }
  u32(v: number) { this.room(4); this.view.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number) { this.room(4); this.view.setInt32(this.length, v, true); this.length += 4; }
  u64(v: number) { this.room(8); this.view.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  f64(v: number) { this.room(8); this.view.setFloat64(this.length, v, false); this.length += 8; }
  bytes(b: Uint8Array) { this.room(b.length); this.buf.set(b, this.length); this.length += b.length; }
  done() { return this.buf.slice(0, this.length); }
}

/** The pickle of `value`: numbers, BigInt, strings, booleans, null, Uint8Array, Arrays (frozen: tuples), plain objects and Maps (dicts), Sets, and the classes of values.ts. */
export function dumps(value: unknown, options: DumpOptions = {}): Uint8Array {
  const protocol = options.protocol ?? 4, maxDepth = options.maxDepth ?? 1000;
  if (protocol !== 2 && protocol !== 4) throw new RangeError(`Pickle protocol ${String(protocol)} is not written here: use 2 or 4`);
  const w = new Writer();
  const memo = new Map<object, number>();
  const building = new Set<object>(); // tuples being written: one that holds itself cannot be
  w.byte(OP.PROTO, protocol);

  const remember = (v: object) => {
    const i = memo.size;
    memo.set(v, i);
    if (protocol === 4) w.byte(OP.MEMOIZE);
    else if (i < 256) w.byte(OP.BINPUT, i);
    else { w.byte(OP.LONG_BINPUT); w.u32(i); }
  };
  const recall = (i: number) => {
    if (i < 256) w.byte(OP.BINGET, i);
    else { w.byte(OP.LONG_BINGET); w.u32(i); }
  };
  const str = (s: string) => {
    const b = toWtf8(s);
    if (protocol === 4 && b.length < 256) w.byte(OP.SHORT_BINUNICODE, b.length);
    else if (b.length < 2 ** 32) { w.byte(OP.BINUNICODE); w.u32(b.length); } else { w.byte(OP.BINUNICODE8); w.u64(b.length); }
    w.bytes(b);
  };
  const global = (g: PyGlobal) => {
    if (protocol === 4) { str(g.module); str(g.name); w.byte(OP.STACK_GLOBAL); } else { w.byte(OP.GLOBAL); w.bytes(toWtf8(`${g.module}\n${g.name}\n`)); }
  };
  const int = (v: bigint) => {
    if (v >= 0n && v < 256n) w.byte(OP.BININT1, Number(v));
    else if (v >= 0n && v < 65536n) { w.byte(OP.BININT2); w.u16(Number(v)); } else if (v >= -(2n ** 31n) && v < 2n ** 31n) { w.byte(OP.BININT); w.i32(Number(v)); } else {
      const b = littleSigned(v);
      if (b.length < 256) w.byte(OP.LONG1, b.length); else { w.byte(OP.LONG4); w.i32(b.length); }
      w.bytes(b);
    }
  };
  const items = (list: Iterable<unknown>, depth: number, op: number) => {
    w.byte(OP.MARK);
    for (const item of list) write(item, depth);
    w.byte(op);
  };

  const write = (v: unknown, depth: number): void => {
    if (depth > maxDepth) throw new PickleError(`The value nests deeper than maxDepth (${maxDepth})`);
    if (v === null) return w.byte(OP.NONE);
    if (v === true || v === false) return w.byte(v ? OP.NEWTRUE : OP.NEWFALSE);
    if (typeof v === 'number') {
      // One number type here: an integer that a double holds exactly is Python's int, the rest float.
      if (Number.isSafeInteger(v) && !Object.is(v, -0)) return int(BigInt(v));
      w.byte(OP.BINFLOAT); return w.f64(v);
    }
    if (typeof v === 'bigint') return int(v);
    if (typeof v === 'string') return str(v);
    if (typeof v !== 'object') throw new PickleError(`A ${typeof v} cannot be pickled: Python has no ${typeof v === 'undefined' ? 'undefined (send null for None)' : typeof v}`);
    const seen = memo.get(v);
    if (seen !== undefined) return recall(seen);
    if (building.has(v)) throw new PickleError('A tuple that contains itself cannot be pickled: make it a list');
    const next = depth + 1;
    if (v instanceof Uint8Array && (v.constructor === Uint8Array || isBuffer(v))) {
      if (protocol === 4) {
        if (v.length < 256) w.byte(OP.SHORT_BINBYTES, v.length); else if (v.length < 2 ** 32) { w.byte(OP.BINBYTES); w.u32(v.length); } else { w.byte(OP.BINBYTES8); w.u64(v.length); }
        w.bytes(v);
      } else {
        // Protocol 2 has no bytes: Python writes _codecs.encode(the bytes as latin-1 text, 'latin1').
        global(new PyGlobal('_codecs', 'encode'));
        let text = '';
        for (const b of v) text += String.fromCharCode(b);
        str(text); str('latin1'); w.byte(OP.TUPLE2, OP.REDUCE);
      }
      return remember(v);
    }
    if (isTuple(v)) {
      building.add(v);
      if (v.length === 0) w.byte(OP.EMPTY_TUPLE);
      else if (v.length <= 3) { for (const item of v) write(item, next); w.byte(OP.TUPLE1 + v.length - 1); } else items(v, next, OP.TUPLE);
      building.delete(v);
      // An item may have written this tuple already, through the memo.
      const again = memo.get(v);
      if (again !== undefined) { w.byte(OP.POP); return recall(again); }
      return remember(v);
    }
    if (Array.isArray(v)) {
      w.byte(OP.EMPTY_LIST); remember(v);
      for (let i = 0; i < v.length; i += 1000) items(v.slice(i, i + 1000), next, OP.APPENDS);
      return;
    }
    if (v instanceof Set) {
      if (protocol === 2) {
        global(new PyGlobal('builtins', 'set'));
        w.byte(OP.EMPTY_LIST); items(v, next, OP.APPENDS); w.byte(OP.TUPLE1, OP.REDUCE);
        return remember(v);
      }
      w.byte(OP.EMPTY_SET); remember(v);
      if (v.size) items(v, next, OP.ADDITEMS);
      return;
    }
    if (v instanceof Map || isPlainObject(v)) {
      w.byte(OP.EMPTY_DICT); remember(v);
      const entries = v instanceof Map ? [...v] : Object.entries(v);
      for (let i = 0; i < entries.length; i += 1000) {
        w.byte(OP.MARK);
        for (const [key, item] of entries.slice(i, i + 1000)) { write(key, next); write(item, next); }
        w.byte(OP.SETITEMS);
      }
      return;
    }
    if (v instanceof PyObject) {
      global(v.cls);
      write(Object.freeze([...v.args]), next);
      w.byte(v.made === 'reduce' ? OP.REDUCE : OP.NEWOBJ);
      remember(v);
      if (v.state !== undefined) { write(v.state, next); w.byte(OP.BUILD); }
      return;
    }
    if (v instanceof PythonError) {
      global(v.type); write(Object.freeze([...v.args]), next); w.byte(OP.REDUCE);
      remember(v);
      if (v.state !== undefined) { write(v.state, next); w.byte(OP.BUILD); }
      return;
    }
    if (v instanceof PyGlobal) {
      global(v);
      return remember(v);
    }
    if (v instanceof PySlice) {
      global(new PyGlobal('builtins', 'slice')); write(Object.freeze([v.start, v.stop, v.step]), next); w.byte(OP.REDUCE);
      return remember(v);
    }
    const instead = options.replace?.(v);
    if (instead !== undefined) {
      write(instead, next);
      return;
    }
    const kind = (v as object).constructor?.name ?? 'object without a prototype';
    throw new PickleError(`A ${kind} cannot be pickled: send its fields as a plain object, or a PyObject naming its Python class`);
  };

  write(value, 0);
  w.byte(OP.STOP);
  return w.done();
}

const isPlainObject = (v: object) => Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null;
const isBuffer = (v: Uint8Array) => (globalThis as { Buffer?: { isBuffer(x: unknown): boolean } }).Buffer?.isBuffer(v) === true;

/** The shortest little-endian two's complement bytes of v, as LONG1 and LONG4 carry it (through hex: linear in its size). */
function littleSigned(v: bigint): Uint8Array {
  // Bits for the magnitude plus a sign bit; a negative v is written as 2^(8n) + v.
  const bits = (v < 0n ? -v - 1n : v).toString(2).length + 1;
  const n = Math.ceil(bits / 8);
  const hex = (v < 0n ? (1n << BigInt(8 * n)) + v : v).toString(16).padStart(2 * n, '0');
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = parseInt(hex.slice(hex.length - 2 * (i + 1), hex.length - 2 * i), 16);
  return out;
}
