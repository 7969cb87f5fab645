// How Python's values look on this side of a pickle. Most map onto JavaScript's own: int to number
// (BigInt beyond 2^53), float to number, str to string, bytes to Uint8Array, None to null, list to
// Array, dict to a plain object when every key is a str and to a Map otherwise, set to Set. What
// JavaScript has no word for gets a small class here, so that it comes back unchanged when sent on.

/** A pickle that this side refuses to read or cannot write; its message names the opcode, global or value. */
export class PickleError extends Error {
  override name = 'PickleError';
}

/** A Python tuple: a frozen Array. Decoded tuples are frozen, and a frozen Array is written as a tuple. */
export function tuple<const T extends unknown[]>(...items: T): Readonly<T> {
  return Object.freeze(items);
}

export const isTuple = (v: unknown): v is readonly unknown[] => Array.isArray(v) && Object.isFrozen(v);

/** A module-level name in Python (a class or function), as pickle refers to it. */
export class PyGlobal {
  readonly module: string;
  readonly name: string;
  constructor(module: string, name: string) {
    this.module = module;
    this.name = name;
  }
  toString() { return `${this.module}.${this.name}`; }
}

/** Takes the state a pickle's BUILD gives an object made on this side (Python's __setstate__). */
export const SETSTATE = Symbol('pickle.setstate');

/**
 * An instance of an allowed Python class that has no JavaScript counterpart: the class, the
 * arguments it was made from (REDUCE's or NEWOBJ's), and its state (BUILD's). Written back the same way.
 */
export class PyObject {
  readonly cls: PyGlobal;
  readonly args: readonly unknown[];
  /** REDUCE (cls(*args)) or NEWOBJ (cls.__new__(cls, *args)), as it was made and will be written. */
  readonly made: 'reduce' | 'newobj';
  state: unknown = undefined;
  constructor(cls: PyGlobal, args: readonly unknown[], made: 'reduce' | 'newobj' = 'newobj') {
    this.cls = cls;
    this.args = args;
    this.made = made;
  }
  [SETSTATE](state: unknown) { this.state = state; }
}

/** A Python exception as data: its type's name (KeyError, queue.Empty), its args, and any state. */
export class PythonError extends Error {
  readonly type: PyGlobal;
  readonly args: readonly unknown[];
  state: unknown = undefined;
  constructor(type: PyGlobal, args: readonly unknown[]) {
    super(`${type.name}${args.length ? `: ${args.map((a) => (typeof a === 'string' ? a : String(a))).join(', ')}` : ''}`);
    this.name = type.name;
    this.type = type;
    this.args = args;
  }
  [SETSTATE](state: unknown) { this.state = state; }
}

/** Python's slice(start, stop, step), as CPython's managers send for list[i:j]. */
export class PySlice {
  readonly start: number | null;
  readonly stop: number | null;
  readonly step: number | null;
  constructor(start: number | null, stop: number | null, step: number | null = null) {
    this.start = start;
    this.stop = stop;
    this.step = step;
  }
}
