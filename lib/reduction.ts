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

export function reduce(value: unknown): unknown {
  if (isReducible(value)) return value[REDUCE]();
  if (Array.isArray(value)) return value.map(reduce);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reduce(v)]));
  }
  return value;
}

export function revive(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(revive);
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const { $mpkit, state } = value as Partial<Reduced>;
    if (typeof $mpkit === 'string') {
      const fn = revivers.get($mpkit);
      if (!fn) throw new TypeError(`Cannot revive a ${$mpkit} here: import 'mpkit' in the child before using it`);
      return fn(state as never);
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
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

export function loads(bytes: Uint8Array): unknown {
  return revive(codec().unpack(bytes));
}
