// Value and Array in shared memory, with CPython's typecodes. Each lives in the arena beside its
// own Lock (unless made raw or with lock: false); passing one to a child gives it the same memory.
import { allocate, view, type Piece } from './heap.ts';
import { Lock, RLock } from './synchronize.ts';
import { REDUCE, registerType, revive, type Reduced } from './reduction.ts';
import { indexable } from './indexing.ts';

export const TYPES = {
  c: Uint8Array, b: Int8Array, B: Uint8Array, h: Int16Array, H: Uint16Array, i: Int32Array, I: Uint32Array,
  l: BigInt64Array, L: BigUint64Array, q: BigInt64Array, Q: BigUint64Array, f: Float32Array, d: Float64Array,
} as const;
export type Typecode = keyof typeof TYPES;
type Big = 'l' | 'L' | 'q' | 'Q';
/** What a typecode holds in JavaScript: 64-bit integers are bigints, as they do not fit a number. */
/** The typed array a typecode is stored in (Int32Array for 'i', BigInt64Array for 'q', ...). */
export type TypedArrayOf<T extends Typecode> = InstanceType<(typeof TYPES)[T]>;
export type Item<T extends Typecode> = T extends Big ? bigint : number;
/** What a slot takes: its Item, and for a 64-bit integer also a safe integer number, converted. */
export type Input<T extends Typecode> = T extends Big ? bigint | number : number;

export const FLOATS = new Set<Typecode>(['f', 'd']);
export const BIG = new Set<Typecode>(['l', 'L', 'q', 'Q']);

const shown = (v: unknown) => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || v === undefined) return String(v);
  return typeof v === 'object' || typeof v === 'function' ? `${/^[aeiou]/.test(typeof v) ? 'an' : 'a'} ${typeof v}` : String(v);
};

/**
 * What `typecode`'s slots store `v` as, or a TypeError: as ctypes refuses a str for a c_double or
 * a float for a c_int, rather than store NaN or cut 3.9 to 3. Integers out of range wrap, as in ctypes.
 */
export function slotWriter(typecode: Typecode): (v: unknown) => unknown {
  const what = `'${typecode}' holds`;
  if (FLOATS.has(typecode)) return (v) => {
    if (typeof v === 'number') return v;
    throw new TypeError(`${what} numbers, not ${shown(v)}: convert it with Number() first`);
  };
  if (BIG.has(typecode)) return (v) => {
    if (typeof v === 'bigint') return v;
    if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
    throw new TypeError(`${what} 64-bit integers, not ${shown(v)}: pass a bigint${typeof v === 'number' ? ' (this number is not a safe integer)' : ''}`);
  };
  return (v) => {
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    throw new TypeError(`${what} whole numbers, not ${shown(v)}: ${typeof v === 'number' ? 'round it first (Math.round, Math.trunc)' : 'convert it with Number() first'}`);
  };
}

interface State { typecode: Typecode; length: number; data: Piece; lock: Reduced | null }
type AnyLock = Lock | RLock;

function check(typecode: string): asserts typecode is Typecode {
  if (!(typecode in TYPES)) throw new TypeError(`Unknown typecode "${typecode}": use one of ${Object.keys(TYPES).join(' ')}`);
}

/** `given`: the lock object the caller passed, which getLock() then returns itself, as in CPython. */
function open<T extends Typecode>(state: State, given?: AnyLock) {
  const v = view(state.data);
  const items = new TYPES[state.typecode](v.buffer, v.byteOffset, state.length) as unknown as { [i: number]: Item<T>; length: number };
  return { items, lock: given ?? (state.lock ? revive(state.lock) as AnyLock : null), write: slotWriter(state.typecode) as (v: unknown) => Item<T> };
}

function create(typecode: Typecode, length: number, withLock: boolean | AnyLock): State {
  const data = allocate(length * TYPES[typecode].BYTES_PER_ELEMENT);
  // An RLock by default, as in CPython, so code holding getLock() may call helpers that take it again.
  const lock = withLock instanceof Lock || withLock instanceof RLock ? withLock[REDUCE]() : withLock ? new RLock()[REDUCE]() : null;
  return { typecode, length, data, lock };
}

export interface SharedOptions { lock?: boolean | AnyLock }

const givenLock = (lock: boolean | AnyLock) => (lock instanceof Lock || lock instanceof RLock ? lock : undefined);

export class SharedValue<T extends Typecode = Typecode> {
  readonly typecode: T;
  readonly #state: State;
  readonly #items: { [i: number]: Item<T> };
  readonly #lock: AnyLock | null;
  readonly #write: (v: unknown) => Item<T>;

  constructor(state: State, given?: AnyLock) {
    this.#state = state;
    this.typecode = state.typecode as T;
    const { items, lock, write } = open<T>(state, given);
    this.#items = items;
    this.#lock = lock;
    this.#write = write;
  }

  get value(): Item<T> { return this.#items[0]; }
  set value(v: Input<T>) { this.#items[0] = this.#write(v); }

  /** The lock that guards this value; raw values have none. */
  getLock(): AnyLock {
    if (!this.#lock) throw new TypeError('This value was made without a lock: use Value(typecode, init) or pass { lock: true }');
    return this.#lock;
  }

  /** A one-item typed array over the shared value itself (Python's get_obj), for Atomics. */
  getObj(): TypedArrayOf<T> { return this.#items as unknown as TypedArrayOf<T>; }

  toString() { return `Value('${this.typecode}', ${this.value})`; }
  [REDUCE](): Reduced { return { $mpkit: 'Value', state: this.#state }; }
}

export class SharedArray<T extends Typecode = Typecode> {
  readonly typecode: T;
  readonly length: number;
  readonly #state: State;
  readonly #items: { [i: number]: Item<T>; length: number };
  readonly #lock: AnyLock | null;
  readonly #write: (v: unknown) => Item<T>;
  [index: number]: Item<T>;

  constructor(state: State, given?: AnyLock) {
    this.#state = state;
    this.typecode = state.typecode as T;
    this.length = state.length;
    const { items, lock, write } = open<T>(state, given);
    this.#items = items;
    this.#lock = lock;
    this.#write = write;
    return indexable(this);
  }

  get(i: number): Item<T> {
    return this.#items[this.#at(i)];
  }

  set(i: number, v: Input<T>): void {
    this.#items[this.#at(i)] = this.#write(v);
  }

  #at(i: number): number {
    const at = i < 0 ? this.length + i : i;
    if (!Number.isInteger(at) || at < 0 || at >= this.length) throw new RangeError(`Index ${i} is out of range for an Array of ${this.length}`);
    return at;
  }

  toArray(): Item<T>[] { return globalThis.Array.from({ length: this.length }, (_, i) => this.#items[i]); }
  slice(start?: number, end?: number): Item<T>[] { return this.toArray().slice(start, end); }
  [Symbol.iterator]() { return this.toArray()[Symbol.iterator](); }

  getLock(): AnyLock {
    if (!this.#lock) throw new TypeError('This array was made without a lock: use Array(typecode, values) or pass { lock: true }');
    return this.#lock;
  }

  /** The typed array over the shared memory itself (Python's get_obj), for Atomics and bulk copies. */
  getObj(): TypedArrayOf<T> { return this.#items as unknown as TypedArrayOf<T>; }

  toString() { return `[${this.toArray().join(', ')}]`; }
  [REDUCE](): Reduced { return { $mpkit: 'Array', state: this.#state }; }
}


/** A shared value guarded by its own lock (Python's multiprocessing.Value). */
export function Value<T extends Typecode>(typecode: T, init?: Input<T>, { lock = true }: SharedOptions = {}): SharedValue<T> {
  check(typecode);
  if (init !== undefined) slotWriter(typecode)(init); // refused before any memory is taken
  const v = new SharedValue<T>(create(typecode, 1, lock), givenLock(lock));
  if (init !== undefined) v.value = init;
  return v;
}

export function RawValue<T extends Typecode>(typecode: T, init?: Input<T>): SharedValue<T> {
  return Value(typecode, init, { lock: false });
}

/** A shared fixed-size array guarded by its own lock (Python's multiprocessing.Array). */
export function Array<T extends Typecode>(typecode: T, sizeOrValues: number | Iterable<Input<T>>, { lock = true }: SharedOptions = {}): SharedArray<T> {
  check(typecode);
  const values = typeof sizeOrValues === 'number' ? null : [...sizeOrValues];
  const length = values ? values.length : sizeOrValues as number;
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`Array size must be a whole number ≥ 0, not ${length}`);
  // Every value is checked before the memory is taken, so a refused one leaves nothing behind.
  const write = slotWriter(typecode);
  values?.forEach((v, i) => {
    try { write(v); } catch (e) { throw new TypeError(`Item ${i}: ${(e as Error).message}`); }
  });
  const arr = new SharedArray<T>(create(typecode, length, lock), givenLock(lock));
  values?.forEach((v, i) => arr.set(i, v));
  return arr;
}

export function RawArray<T extends Typecode>(typecode: T, sizeOrValues: number | Iterable<Input<T>>): SharedArray<T> {
  return Array(typecode, sizeOrValues, { lock: false });
}

registerType('Value', (state: State) => new SharedValue(state));
registerType('Array', (state: State) => new SharedArray(state));
