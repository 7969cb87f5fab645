// How mpkit's objects cross into another process or thread: each one reduces to a small plain
// record (which segment, which offset), and the receiving side revives it as the same shared
// object. Everything else travels as a structured-clone value.
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
