// How mpkit's objects cross into another process or thread: each one reduces to a small plain
// record (which segment, which offset), and the receiving side revives it as the same shared
// object. Everything else travels as a structured-clone value.
import { builtin } from './platform/builtins.ts';

export const REDUCE = Symbol.for('mpkit.reduce');

export interface Reduced {
  $mpkit: string;
  state: unknown;
}
export interface Reducible {
  [REDUCE](): Reduced;
}

const revivers = new Map<string, (state: never) => unknown>();

/** Registers how a type comes back to life on the other side. */
export function registerType<S>(type: string, revive: (state: S) => unknown) {
  revivers.set(type, revive as (state: never) => unknown);
}

function isReducible(v: unknown): v is Reducible {
  return typeof v === 'object' && v !== null && REDUCE in v;
}

// msgpack has no -0 (msgpackr writes it as the integer 0), so it travels as a record of its own.
const NEGATIVE_ZERO: Reduced = { $mpkit: '-0', state: null };
registerType('-0', () => -0);

// Both walks leave alone what holds nothing of mpkit's: reduce copies only the arrays and objects
// on the way to a reducible (or a -0), and revive works in place on what msgpack just built. A
// chunk of 100,000 numbers then costs one pass and no garbage.
export function reduce(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value === 0 && 1 / value < 0 ? NEGATIVE_ZERO : value;
  if (isReducible(value)) return value[REDUCE]();
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (typeof v !== 'object' || v === null) {
        if (v === 0 && 1 / v < 0) (copy ??= value.slice())[i] = NEGATIVE_ZERO;
        continue;
      }
      const r = reduce(v);
      if (r !== v) (copy ??= value.slice())[i] = r;
    }
    return copy ?? value;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    let copy: Record<string, unknown> | null = null;
    for (const k in value) {
      const v = (value as Record<string, unknown>)[k];
      if (typeof v !== 'object' || v === null) {
        if (v === 0 && 1 / v < 0) (copy ??= { ...value })[k] = NEGATIVE_ZERO;
        continue;
      }
      const r = reduce(v);
      if (r !== v) (copy ??= { ...value })[k] = r;
    }
    return copy ?? value;
  }
  return value;
}

export function revive(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      if (typeof v === 'object' && v !== null) value[i] = revive(v);
    }
    return value;
  }
  if (Object.getPrototypeOf(value) === Object.prototype) {
    const { $mpkit, state } = value as Partial<Reduced>;
    if (typeof $mpkit === 'string') {
      const fn = revivers.get($mpkit);
      if (!fn) throw new TypeError(`Cannot revive a ${$mpkit} here: import 'mpkit' in the child before using it`);
      return fn(state as never);
    }
    const record = value as Record<string, unknown>;
    for (const k in record) {
      const v = record[k];
      if (typeof v === 'object' && v !== null) record[k] = revive(v);
    }
  }
  return value;
}

type Packr = import('msgpackr').Packr;
let packr: Packr | null = null;

// msgpackr, loaded on first use: runtime-neutral bytes, Set, Date, typed arrays, bigints and cycles
// kept (structuredClone), and decoding that builds data, never code.
function codec(): Packr {
  if (packr) return packr;
  const msgpackr = builtin('node:module').createRequire(import.meta.url)('msgpackr') as typeof import('msgpackr');
  return (packr = new msgpackr.Packr({ useRecords: false, structuredClone: true, useBigIntExtension: true }));
}

/** A value as bytes another process or thread can load, mpkit objects reduced to their names. */
export function dumps(value: unknown): Uint8Array {
  return codec().pack(reduce(value));
}

/** dumps(), and whether the value held mpkit objects: only then must the receiver load mpkit to revive it. */
export function dumpsShared(value: unknown): { bytes: Uint8Array; shared: boolean } {
  const reduced = reduce(value); // a copy exactly when something was reduced
  return { bytes: codec().pack(reduced), shared: reduced !== value };
}

export function loads(bytes: Uint8Array): unknown {
  return revive(codec().unpack(bytes));
}
