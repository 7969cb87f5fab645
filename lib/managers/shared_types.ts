// The objects a manager's server holds for its clients. Each method here is what a proxy's method
// of the same name runs on the server. Waiting methods return promises, so one client waiting on a
// lock or a queue never stops the server from answering the others.
import { Caller, Waiters, caller } from './caller.ts';
import { BrokenBarrierError } from '../synchronize.ts';
import { Empty, Full } from '../queues.ts';

const index = (length: number, i: number) => {
  const at = i < 0 ? length + i : i;
  if (!Number.isInteger(at) || at < 0 || at >= length) throw new RangeError(`Index ${i} is out of range for a list of ${length}`);
  return at;
};

/** Refuses growth past the manager's maxItems, before anything is allocated. */
export function room(length: number, adding: number, what = 'A list') {
  const { maxItems } = caller().limits;
  if (length + adding > maxItems) {
    throw new RangeError(`${what} of ${length + adding} items is over this manager's limit of ${maxItems} (maxItems): start the manager with a larger maxItems to allow it`);
  }
}

export class ListImpl {
  items: unknown[];
  constructor(items: Iterable<unknown> = []) { this.items = [...items]; room(0, this.items.length); }
  append(v: unknown) { room(this.items.length, 1); this.items.push(v); }
  push(...vs: unknown[]) { room(this.items.length, vs.length); for (const v of vs) this.items.push(v); return this.items.length; }
  extend(vs: unknown[]) { room(this.items.length, vs.length); for (const v of vs) this.items.push(v); }
  insert(i: number, v: unknown) { room(this.items.length, 1); this.items.splice(i < 0 ? Math.max(0, this.items.length + i) : i, 0, v); }
  pop(i = -1) { const at = index(this.items.length, i); return this.items.splice(at, 1)[0]; }
  remove(v: unknown) { this.items.splice(this.index(v), 1); }
  index(v: unknown) {
    const at = this.items.findIndex((x) => same(x, v));
    if (at < 0) throw new RangeError(`${String(v)} is not in the list`);
    return at;
  }
  count(v: unknown) { return this.items.filter((x) => same(x, v)).length; }
  sort(reverse = false) {
    this.items.sort((a, b) => ((a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0) * (reverse ? -1 : 1));
  }
  reverse() { this.items.reverse(); }
  get(i: number) { return this.items[index(this.items.length, i)]; }
  set(i: number, v: unknown) { this.items[index(this.items.length, i)] = v; }
  len() { return this.items.length; }
  slice(start?: number, end?: number) { return this.items.slice(start, end); }
  toArray() { return this.items; }
  clear() { this.items.length = 0; }
}

function same(a: unknown, b: unknown) {
  return a === b || (typeof a === 'object' && a !== null && JSON.stringify(a) === JSON.stringify(b));
}

export class ArrayImpl extends ListImpl {
  readonly typecode: string;
  constructor(typecode: string, values: Iterable<number | bigint> | number) {
    if (typeof values === 'number') {
      if (!Number.isInteger(values) || values < 0) throw new RangeError(`An Array's length is a whole number, at least 0, not ${values}`);
      room(0, values, 'An Array');
    }
    super(typeof values === 'number' ? new Array(values).fill(0) : values);
    this.typecode = typecode;
  }
}

type Key = string | number;
export class DictImpl {
  map = new Map<Key, unknown>();
  constructor(init?: Record<string, unknown> | [Key, unknown][]) { if (init) this.update(init); }
  get(k: Key, fallback: unknown = null) { return this.map.has(k) ? this.map.get(k) : fallback; }
  set(k: Key, v: unknown) { this.map.set(k, v); }
  has(k: Key) { return this.map.has(k); }
  delete(k: Key) {
    if (!this.map.delete(k)) throw new RangeError(`No key ${JSON.stringify(k)} in the dict`);
  }
  keys() { return [...this.map.keys()]; }
  values() { return [...this.map.values()]; }
  items() { return [...this.map.entries()]; }
  update(other: Record<string, unknown> | [Key, unknown][]) {
    for (const [k, v] of Array.isArray(other) ? other : Object.entries(other)) this.map.set(k, v);
  }
  setdefault(k: Key, v: unknown = null) { if (!this.map.has(k)) this.map.set(k, v); return this.map.get(k); }
  pop(k: Key, ...fallback: unknown[]) {
    if (this.map.has(k)) { const v = this.map.get(k); this.map.delete(k); return v; }
    if (fallback.length) return fallback[0];
    throw new RangeError(`No key ${JSON.stringify(k)} in the dict`);
  }
  /** Removes and returns the last [key, value] added, as Python's dict.popitem() does. */
  popitem() {
    if (this.map.size === 0) throw new RangeError('popitem(): the dict is empty');
    const last = [...this.map.keys()].at(-1)!, value = this.map.get(last);
    this.map.delete(last);
    return [last, value];
  }
  copy() { return Object.fromEntries(this.map); }
  clear() { this.map.clear(); }
  len() { return this.map.size; }
  toObject() { return Object.fromEntries(this.map); }
}

export class ValueImpl {
  value: unknown;
  readonly typecode: string | null;
  constructor(typecode: string | null, value: unknown) { this.typecode = typecode; this.value = value; }
  get() { return this.value; }
  set(v: unknown) { this.value = v; }
}

export class NamespaceImpl {
  attrs: Record<string, unknown>;
  constructor(init: Record<string, unknown> = {}) { this.attrs = { ...init }; }
  get(name: string) {
    if (!(name in this.attrs)) throw new RangeError(`The namespace has no "${name}"`);
    return this.attrs[name];
  }
  set(name: string, v: unknown) { this.attrs[name] = v; }
  delete(name: string) { delete this.attrs[name]; }
  toObject() { return this.attrs; }
}

export class SetImpl {
  items: Set<unknown>;
  constructor(items: Iterable<unknown> = []) { this.items = new Set(items); }
  add(v: unknown) { this.items.add(v); }
  discard(v: unknown) { this.items.delete(v); }
  remove(v: unknown) { if (!this.items.delete(v)) throw new RangeError(`${String(v)} is not in the set`); }
  has(v: unknown) { return this.items.has(v); }
  len() { return this.items.size; }
  toArray() { return [...this.items]; }
  clear() { this.items.clear(); }
}

/** A lock owned by one client connection; released for the others if that client goes away. */
export class LockImpl {
  owner: Caller | null = null;
  depth = 0;
  readonly reentrant: boolean;
  #waiters = new Waiters();
  #forget: (() => void) | null = null;
  constructor(reentrant = false) { this.reentrant = reentrant; }

  #take(who: Caller): boolean {
    if (this.owner === null) {
      this.owner = who;
      this.depth = 1;
      this.#forget = who.onClose(() => this.#free());
      return true;
    }
    if (this.reentrant && this.owner === who) { this.depth++; return true; }
    return false;
  }

  #free() {
    this.#forget?.();
    this.owner = null;
    this.depth = 0;
    this.#waiters.wakeOne();
  }

  async acquire(blocking = true, timeout: number | null = null): Promise<boolean> {
    const who = caller();
    const end = timeout == null ? Infinity : Date.now() + timeout * 1000;
    while (!this.#take(who)) {
      if (!blocking || who.closed) return false;
      const left = end === Infinity ? null : (end - Date.now()) / 1000;
      if (left !== null && left <= 0) return false;
      await this.#waiters.wait(who, left);
    }
    return true;
  }

  release() {
    const who = caller();
    if (this.owner === null) throw new Error('Cannot release an unlocked lock');
    if (this.reentrant && this.owner !== who) throw new Error('Cannot release an RLock this client does not hold');
    if (--this.depth === 0) this.#free();
  }

  /** Releases fully for a condition's wait; returns the depth to restore. */
  _saveFor(who: Caller): number {
    if (this.owner !== who) throw new Error('Cannot wait on a condition whose lock this client does not hold: acquire it first');
    const depth = this.depth;
    this.#free();
    return depth;
  }

  async _restoreFor(who: Caller, depth: number) {
    while (!this.#take(who)) {
      if (who.closed) return;
      await this.#waiters.wait(who, null);
    }
    this.depth = depth;
  }

  locked() { return this.owner !== null; }
}

export class SemaphoreImpl {
  value: number;
  readonly bound: number | null;
  #waiters = new Waiters();
  constructor(value = 1, bounded = false) {
    if (!Number.isInteger(value) || value < 0) throw new RangeError(`A semaphore's value is a whole number, at least 0, not ${value}`);
    this.value = value;
    this.bound = bounded ? value : null;
  }

  async acquire(blocking = true, timeout: number | null = null): Promise<boolean> {
    const who = caller();
    const end = timeout == null ? Infinity : Date.now() + timeout * 1000;
    while (this.value === 0) {
      const left = end === Infinity ? null : (end - Date.now()) / 1000;
      if (!blocking || who.closed || (left !== null && left <= 0)) return false;
      await this.#waiters.wait(who, left);
    }
    this.value--;
    return true;
  }

  release(n = 1) {
    if (this.bound !== null && this.value + n > this.bound) throw new RangeError('Semaphore released too many times');
    this.value += n;
    for (let i = 0; i < n; i++) this.#waiters.wakeOne();
  }

  getValue() { return this.value; }
}

export class ConditionImpl {
  readonly lock: LockImpl;
  #waiters = new Waiters();
  constructor(lock?: LockImpl) {
    if (lock !== undefined && !(lock instanceof LockImpl)) throw new TypeError('A Condition takes a manager Lock or RLock');
    this.lock = lock ?? new LockImpl(true);
  }
  acquire(blocking = true, timeout: number | null = null) { return this.lock.acquire(blocking, timeout); }
  release() { this.lock.release(); }

  async wait(timeout: number | null = null): Promise<boolean> {
    const who = caller();
    const depth = this.lock._saveFor(who);
    const notified = await this.#waiters.wait(who, timeout);
    await this.lock._restoreFor(who, depth);
    return notified;
  }

  notify(n = 1) {
    if (this.lock.owner !== caller()) throw new Error('Cannot notify on a condition whose lock this client does not hold: acquire it first');
    for (let i = 0; i < n; i++) this.#waiters.wakeOne();
  }

  notifyAll() {
    if (this.lock.owner !== caller()) throw new Error('Cannot notify on a condition whose lock this client does not hold: acquire it first');
    this.#waiters.wakeAll();
  }
}

export class EventImpl {
  flag = false;
  #waiters = new Waiters();
  isSet() { return this.flag; }
  set() { this.flag = true; this.#waiters.wakeAll(); }
  clear() { this.flag = false; }
  async wait(timeout: number | null = null): Promise<boolean> {
    if (this.flag) return true;
    return await this.#waiters.wait(caller(), timeout) || this.flag; // woken by a set() that a clear() may have undone since
  }
}

export class BarrierImpl {
  readonly parties: number;
  readonly timeout: number | null;
  count = 0;
  broken = false;
  #generation = 0;
  #tripped = new Set<number>();
  #waiters = new Waiters();
  constructor(parties: number, timeout: number | null = null) {
    if (!Number.isInteger(parties) || parties < 1) throw new RangeError(`A barrier needs a whole number of parties, at least 1, not ${parties}`);
    this.parties = parties;
    this.timeout = timeout;
  }

  async wait(timeout: number | null = null): Promise<number> {
    const who = caller();
    if (this.broken) throw new BrokenBarrierError();
    const generation = this.#generation, arrived = this.count++;
    if (this.count === this.parties) {
      this.#trip();
      return arrived;
    }
    const limit = timeout ?? this.timeout;
    const end = limit == null ? Infinity : Date.now() + limit * 1000;
    while (this.#generation === generation && !this.broken) {
      const left = end === Infinity ? null : (end - Date.now()) / 1000;
      if ((left !== null && left <= 0) || who.closed) { this.abort(); break; }
      await this.#waiters.wait(who, left);
    }
    if (this.#tripped.has(generation)) return arrived;
    throw new BrokenBarrierError();
  }

  #trip() {
    this.#tripped.add(this.#generation);
    if (this.#tripped.size > 64) this.#tripped.delete(this.#tripped.values().next().value!);
    this.#generation++;
    this.count = 0;
    this.#waiters.wakeAll();
  }

  abort() { this.broken = true; this.count = 0; this.#waiters.wakeAll(); }
  reset() { this.broken = false; this.count = 0; this.#generation++; this.#waiters.wakeAll(); }
  nWaiting() { return this.count; }
  isBroken() { return this.broken; }
  getParties() { return this.parties; }
}

export class QueueImpl {
  readonly maxsize: number;
  items: unknown[] = [];
  unfinished = 0;
  #notEmpty = new Waiters();
  #notFull = new Waiters();
  #allDone = new Waiters();
  constructor(maxsize = 0) { this.maxsize = maxsize; }

  full() { return this.maxsize > 0 && this.items.length >= this.maxsize; }
  empty() { return this.items.length === 0; }
  qsize() { return this.items.length; }

  async put(item: unknown, block = true, timeout: number | null = null) {
    const who = caller();
    const end = timeout == null ? Infinity : Date.now() + timeout * 1000;
    while (this.full()) {
      const left = end === Infinity ? null : (end - Date.now()) / 1000;
      if (!block || (left !== null && left <= 0)) throw new Full();
      if (who.closed) return;
      await this.#notFull.wait(who, left);
    }
    room(this.items.length, 1, 'A queue');
    this.items.push(item);
    this.unfinished++;
    this.#notEmpty.wakeOne();
  }

  async get(block = true, timeout: number | null = null): Promise<unknown> {
    const who = caller();
    const end = timeout == null ? Infinity : Date.now() + timeout * 1000;
    while (this.empty()) {
      const left = end === Infinity ? null : (end - Date.now()) / 1000;
      if (!block || (left !== null && left <= 0)) throw new Empty();
      if (who.closed) return undefined; // the reply has nowhere to go: the item stays queued
      await this.#notEmpty.wait(who, left);
    }
    const item = this.items.shift();
    this.#notFull.wakeOne();
    return item;
  }

  putNowait(item: unknown) { return this.put(item, false); }
  getNowait() { return this.get(false); }

  taskDone() {
    if (this.unfinished <= 0) throw new RangeError('taskDone() called more times than there were items');
    if (--this.unfinished === 0) this.#allDone.wakeAll();
  }

  async join() {
    const who = caller();
    while (this.unfinished > 0 && !who.closed) await this.#allDone.wait(who, null);
  }
}
