// Structured clone's rules for every value that crosses into another process or thread, carried
// as msgpack (msgpackr). msgpack alone would turn a Map into an object with string keys, -0 into
// 0 and holes into undefined, drop an Error's stack and cause, and write a function as nothing;
// so on the way out each value is checked and, where msgpack cannot carry it as it is, wrapped in
// an extension of its own, and what structuredClone refuses (functions, symbols, WeakMap, ...) is
// refused here, at the sender, naming where it sat. Both walks copy only what changes, so a value
// of plain data costs one pass and no garbage.
import { builtin } from './platform/builtins.ts';

/** What one side puts in place of an object (an mpkit object's record, a manager's reference), or the object itself. */
export type Swap = (value: object) => unknown;

/** A value structured clone refuses; `keys` is where it sat, innermost last. */
class Refusal {
  readonly keys: (string | number)[] = [];
  readonly why: string;
  constructor(why: string) { this.why = why; }
}

// What msgpack cannot carry as it is travels inside one of these, each an extension type.
/** A Map, as [key, value, key, value, ...]. */
class MapEntries {
  readonly flat: unknown[];
  constructor(flat: unknown[]) { this.flat = flat; }
}
/** An array with holes, as its length and [index, value, ...] of what it holds. */
class Sparse {
  readonly length: number;
  readonly flat: unknown[];
  constructor(length: number, flat: unknown[]) { this.length = length; this.flat = flat; }
}
class ErrorState {
  readonly state: { name: string; message: string; stack?: string | undefined; cause?: unknown };
  constructor(state: { name: string; message: string; stack?: string | undefined; cause?: unknown }) { this.state = state; }
}
// msgpackr's extensions are global to it: where two copies of mpkit share one msgpackr, decoding
// makes the BackRef of whichever registered last, so one is known by this brand, not by its class.
const BACK = Symbol.for('mpkit.backref');

/** A reference to the object `up` levels above, which holds it: a cycle, which msgpackr cannot decode through an object. */
class BackRef {
  readonly up: number;
  readonly [BACK] = true;
  constructor(up: number) { this.up = up; }
}

const isBackRef = (x: object): x is BackRef => (x as { [BACK]?: boolean })[BACK] === true;

/** A Number, String, Boolean or BigInt object. */
class Boxed {
  readonly value: unknown;
  constructor(value: unknown) { this.value = value; }
}
class NegativeZero {}
const NEGATIVE_ZERO = new NegativeZero();

// The constructors structuredClone keeps an Error's kind for; any other comes back an Error.
const ERRORS: Record<string, ErrorConstructor> = { Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError };

const UNSENDABLE: [new (...a: never[]) => object, string][] = [
  [WeakMap, 'a WeakMap'], [WeakSet, 'a WeakSet'], [WeakRef, 'a WeakRef'], [FinalizationRegistry, 'a FinalizationRegistry'],
  [Promise, 'a Promise: await it and send its value'], [SharedArrayBuffer, 'a SharedArrayBuffer: share memory through mp.RawArray or SharedMemory'],
];

type Packr = import('msgpackr').Packr;
let packr: Packr | null = null, copying: Packr | null = null;

/**
 * The msgpack codec every boundary uses, with the extensions above; msgpackr loads at first use.
 * `borrowed`: for bytes that are not ours to keep (a segment about to be removed), the codec that
 * copies binary values out, where the other leaves them as views of the bytes decoded.
 */
export function codec(borrowed = false): Packr {
  if (packr) return borrowed ? copying! : packr;
  const msgpackr = builtin('node:module').createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
  // structuredClone: msgpackr's own extensions for Set, Date, RegExp, typed arrays and shared or cyclic references.
  packr = new msgpackr.Packr({ useRecords: false, structuredClone: true, useBigIntExtension: true });
  copying = new msgpackr.Packr({ useRecords: false, structuredClone: true, useBigIntExtension: true, copyBuffers: true });
  const add = (type: number, Class: new (...a: never[]) => object, write: (v: never) => unknown, read: (data: never) => unknown) =>
    msgpackr.addExtension({ type, Class: Class as never, write, read });
  add(0x4e, NegativeZero, () => 0, () => -0);
  add(0x50, MapEntries, (m: MapEntries) => m.flat, (flat: unknown[]) => {
    const map = new Map();
    for (let i = 0; i < flat.length; i += 2) map.set(flat[i], flat[i + 1]);
    return map;
  });
  add(0x51, Sparse, (s: Sparse) => [s.length, s.flat], ([length, flat]: [number, unknown[]]) => {
    const array = new Array(length);
    for (let i = 0; i < flat.length; i += 2) array[flat[i] as number] = flat[i + 1];
    return array;
  });
  add(0x52, ErrorState, (e: ErrorState) => e.state, (state: ErrorState['state']) => {
    const error = 'cause' in state ? new (ERRORS[state.name] ?? Error)(state.message, { cause: state.cause }) : new (ERRORS[state.name] ?? Error)(state.message);
    if (state.stack !== undefined) error.stack = state.stack;
    return error;
  });
  add(0x53, Boxed, (b: Boxed) => b.value, (value: unknown) => Object(value));
  add(0x54, BackRef, (r: BackRef) => r.up, (up: number) => new BackRef(up));
  return borrowed ? copying : packr;
}

// The objects the walk is inside of, outermost first: one met again is a cycle, which travels as
// a BackRef (how many levels up), since msgpackr cannot decode one that runs through an object or
// an extension; restore() puts the reference back. A short array beats a Map here: messages are
// shallow, and most are walked without meeting an object twice.
const ancestors: object[] = [];
let base = 0; // where the walk under way starts in ancestors (a swap may start one of its own)

/**
 * `value` as msgpack can carry it, `swap` applied to each object first; a TypeError that names
 * where a value sat (`${root}[1].onDone is a function: ...`) if structured clone would refuse it.
 * `skip`: how many outer keys of that path are the caller's own framing, left out of the name.
 */
export function prepare(value: unknown, swap: Swap, root: string | (() => string), skip = 0): unknown {
  if (typeof value !== 'object' && typeof value !== 'function' && typeof value !== 'symbol') return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
  const outer = ancestors.length, outerBase = base;
  base = outer;
  try {
    return out(value, swap);
  } catch (e) {
    if (!(e instanceof Refusal)) throw e;
    const path = e.keys.slice(0, e.keys.length - skip).reverse().map((k) => (typeof k === 'number' ? `[${k}]` : k.startsWith('.') ? k : /^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('');
    throw new TypeError(`${typeof root === 'string' ? root : root()}${path} is ${e.why}`);
  } finally {
    ancestors.length = outer;
    base = outerBase;
  }
}

function out(value: unknown, swap: Swap): unknown {
  switch (typeof value) {
    case 'number': return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
    case 'object': return value === null ? null : object(value, swap);
    case 'function': throw new Refusal(`a function: functions cannot be sent to another process or thread; export it and pass its name, or send data`);
    case 'symbol': throw new Refusal(`a symbol: symbols cannot be sent to another process or thread; send a string`);
    default: return value;
  }
}

/** out(), recording where a refusal came from. */
function at(key: string | number, value: unknown, swap: Swap): unknown {
  try { return out(value, swap); } catch (e) { if (e instanceof Refusal) e.keys.push(key); throw e; }
}

function object(value: object, swap: Swap): unknown {
  const swapped = swap(value);
  if (swapped !== value) return swapped;
  const at = ancestors.lastIndexOf(value);
  if (at >= base) return new BackRef(ancestors.length - at);
  ancestors.push(value);
  const result = copy(value, swap);
  ancestors.pop();
  return result;
}

function copy(value: object, swap: Swap): unknown {
  const proto = Object.getPrototypeOf(value);
  if (proto === Array.prototype) return array(value as unknown[], swap);
  if (proto === Object.prototype || proto === null) return fields(value as Record<string, unknown>, swap, false);
  if (value instanceof Map) {
    const flat: unknown[] = [];
    for (const [k, v] of value) flat.push(at('.keys()', k, swap), at(typeof k === 'string' || typeof k === 'number' ? `.get(${JSON.stringify(k)})` : '.values()', v, swap));
    return new MapEntries(flat);
  }
  if (value instanceof Set) {
    const members = new Set();
    let changed = false;
    for (const v of value) { const w = at('.values()', v, swap); changed ||= w !== v; members.add(w); }
    return changed ? members : value;
  }
  if (value instanceof Error) {
    const state: ErrorState['state'] = { name: ERRORS[value.name] ? value.name : 'Error', message: String(value.message), stack: value.stack };
    if ('cause' in value) state.cause = at('cause', value.cause, swap);
    return new ErrorState(state);
  }
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer || value instanceof Date || value instanceof RegExp) return value;
  if (value instanceof Number || value instanceof String || value instanceof Boolean || value instanceof BigInt) return new Boxed(value.valueOf());
  for (const [Class, what] of UNSENDABLE) {
    if (value instanceof Class) throw new Refusal(`${what}${what.includes(':') ? '' : ': it cannot be sent to another process or thread; send the data it holds'}`);
  }
  // Any other object arrives as structuredClone makes it: a plain object of its own fields.
  return fields(value as Record<string, unknown>, swap, true);
}

function array(value: unknown[], swap: Swap): unknown {
  let result: unknown[] | null = null, holes = false;
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    let w: unknown = v;
    if (typeof v === 'number') { if (v === 0 && 1 / v < 0) w = NEGATIVE_ZERO; }
    else if (v === undefined) { if (!(i in value)) holes = true; }
    else if (typeof v !== 'string' && typeof v !== 'boolean') w = at(i, v, swap);
    if (w !== v) (result ??= value.slice())[i] = w;
  }
  if (!holes) return result ?? value;
  const flat: unknown[] = [];
  (result ?? value).forEach((v, i) => flat.push(i, v)); // forEach passes holes by
  return new Sparse(value.length, flat);
}

const plainValue = (v: unknown) => typeof v === 'string' || typeof v === 'boolean' || v === undefined || (typeof v === 'number' && (v !== 0 || 1 / v > 0));

function fields(value: Record<string, unknown>, swap: Swap, instance: boolean): unknown {
  let result: Record<string, unknown> | null = null;
  const each = (k: string) => {
    const v = value[k], w = plainValue(v) ? v : at(k, v, swap);
    if (result) result[k] = w;
    else if (w !== v) { result = { ...value }; result[k] = w; }
  };
  if (instance) for (const k of Object.keys(value)) each(k);
  else for (const k in value) each(k);
  return result ?? value;
}

/**
 * Applies `swap` to every object in a decoded value, deeply (arrays, plain objects, Maps, Sets, an
 * Error's cause), in place, and puts each cycle's BackRef back as the object it names.
 */
export function restore(value: unknown, swap: Swap): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const start = restoring.length; // a swap may restore a value of its own meanwhile
  try { return visit(value, swap, restoring); } finally { restoring.length = start; }
}

/** The objects restore() is inside of, outermost first: what a BackRef counts up through. */
const restoring: object[] = [];

/** A child of the object on top of `path`, restored. */
function child(x: unknown, swap: Swap, path: object[]): unknown {
  if (typeof x !== 'object' || x === null) return x;
  return isBackRef(x) ? path[path.length - x.up] : visit(x, swap, path);
}

// An object met twice (a shared reference) is visited twice, to no effect.
function visit(v: object, swap: Swap, path: object[]): unknown {
  const swapped = swap(v);
  if (swapped !== v) return swapped;
  path.push(v);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) { const x = v[i]; if (typeof x === 'object' && x !== null) v[i] = child(x, swap, path); }
  } else if (v instanceof Map) {
    let rekeyed: [unknown, unknown][] | null = null;
    for (const [k, x] of v) {
      const key = child(k, swap, path), value = child(x, swap, path);
      if (key !== k) rekeyed ??= [];
      if (rekeyed) rekeyed.push([key, value]); else if (value !== x) v.set(k, value);
    }
    if (rekeyed) { const kept = [...v].slice(0, v.size - rekeyed.length); v.clear(); for (const [k, x] of [...kept, ...rekeyed]) v.set(k, x); }
  } else if (v instanceof Set) {
    const members = [...v];
    if (members.some((x) => typeof x === 'object' && x !== null)) { v.clear(); for (const x of members) v.add(child(x, swap, path)); }
  } else if (v instanceof Error) {
    if ('cause' in v) v.cause = child(v.cause, swap, path);
  } else if (Object.getPrototypeOf(v) === Object.prototype) {
    const record = v as Record<string, unknown>;
    for (const k in record) { const x = record[k]; if (typeof x === 'object' && x !== null) record[k] = child(x, swap, path); }
  }
  path.pop();
  return v;
}
