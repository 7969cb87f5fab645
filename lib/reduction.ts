// How mpkit's objects cross into another process or thread: each one reduces to a small plain
// record (which segment, which offset), and the receiving side revives it as the same shared
// object. Everything else travels as a structured-clone value (structured.ts).
import { codec, prepare, restore } from './structured.ts';

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

let reducedAny = false;
const reduceOne = (v: object) => {
  if (!isReducible(v)) return v;
  reducedAny = true;
  return v[REDUCE]();
};

const reviveOne = (v: object) => {
  const $mpkit = (v as Partial<Reduced>).$mpkit;
  if (typeof $mpkit !== 'string' || Object.getPrototypeOf(v) !== Object.prototype) return v;
  const fn = revivers.get($mpkit);
  if (!fn) throw new TypeError(`Cannot revive a ${$mpkit} here: import 'mpkit' in the child before using it`);
  return fn((v as Reduced).state as never);
};

const CHECKED = {};

/** Throws the TypeError dumps() would, without encoding: for a value checked now and sent later. */
export function sendable(value: unknown, root: string | (() => string)): void {
  prepare(value, (v) => (isReducible(v) ? CHECKED : v), root);
}

/** A received value with the records of mpkit's objects in it brought back to life, in place. */
export function revive(value: unknown): unknown {
  return restore(value, reviveOne);
}

/**
 * A value as bytes another process or thread can load, mpkit objects reduced to their records,
 * under structured clone's rules (structured.ts); `root` names the value in a refusal.
 */
export function dumps(value: unknown, root = 'value'): Uint8Array {
  return codec().pack(prepare(value, reduceOne, root));
}

/** dumps(), and whether the value held mpkit objects: only then must the receiver load mpkit to revive it. */
export function dumpsShared(value: unknown, root = 'value'): { bytes: Uint8Array; shared: boolean } {
  reducedAny = false;
  const bytes = codec().pack(prepare(value, reduceOne, root));
  return { bytes, shared: reducedAny };
}

/** The value in `bytes`; `borrowed`: they are not the caller's to keep, so nothing decoded may point into them. */
export function loads(bytes: Uint8Array, borrowed = false): unknown {
  return revive(codec(borrowed).unpack(bytes));
}

// Work a revived object still has to do before it is whole (a Barrier importing its action), which
// a child awaits before its target runs: reviving is synchronous, importing a module is not.
const pending: Promise<unknown>[] = [];

export function whileReviving(work: Promise<unknown>): void {
  pending.push(work);
}

/** Resolves once everything revived so far is whole; rejects with the first that could not be. */
export async function revivedWhole(): Promise<void> {
  while (pending.length) await Promise.all(pending.splice(0));
}
