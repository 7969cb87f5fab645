// Proxies: what a client holds for an object that lives in the manager's server. Every method is
// awaitable, since it is a request over a socket; names follow Python, with JavaScript's beside
// them. A proxy passed to a Process or Thread arrives connected to the same object, and an object
// is freed when its last proxy is gone (released, or collected).
import { describe, type Address } from '../connection/socket.ts';
import { REDUCE, registerType, type Reduced } from '../reduction.ts';
import { TimeoutError } from '../waiting.ts';
import { Client, type CallOptions } from './client.ts';
import { Ref } from './wire.ts';

const clients = new Map<string, Client>();

const poolName = (address: Address, key: Uint8Array) => `${describe(address)} ${Buffer.from(key).toString('base64')}`;

/** The one client of this thread for the manager at `address`, with this key. */
export function clientFor(address: Address, key: Uint8Array): Client {
  const name = poolName(address, key);
  let client = clients.get(name);
  if (!client) {
    client = new Client(address, key, {
      toRef: (v) => (v instanceof BaseProxy ? v.ref : null),
      fromRef: (ref) => makeProxy(client!, ref),
    });
    clients.set(name, client);
  }
  return client;
}

export function forgetClient(address: Address, key: Uint8Array) {
  const name = poolName(address, key);
  clients.get(name)?.close();
  clients.delete(name);
}

/**
 * How a proxy reaches its object: mpkit's own Client, or a Python manager's (python_client.ts).
 * Methods are named as mpkit's proxies name them; a transport translates where it must.
 */
export interface Transport {
  readonly address: Address;
  /** Seconds a call waits for its reply (null: forever). */
  readonly timeout: number | null;
  call(ref: Ref, method: string, args: unknown[], options: CallOptions): Promise<unknown>;
  /** Gives the proxy's reference back; the server frees the object at zero. */
  release(ref: Ref): void;
  /** What the proxy becomes on its way to another process or thread. */
  reduce(ref: Ref): Reduced;
}

// A proxy the program dropped gives its reference back.
const collected = new FinalizationRegistry<{ transport: Transport; ref: Ref }>(({ transport, ref }) => transport.release(ref));

export class BaseProxy {
  readonly ref: Ref;
  readonly #client: Transport;
  #released = false;
  /**
   * Seconds this proxy's calls wait for a reply before they fail with TimeoutError; undefined: the
   * manager's `timeout` option; null: forever. A call that waits by design (acquire, get, wait) adds
   * its own timeout to this, and one that waits forever is never cut short.
   */
  timeout: number | null | undefined = undefined;

  constructor(client: Transport, ref: Ref) {
    this.#client = client;
    this.ref = ref;
    collected.register(this, { transport: client, ref }, this);
  }

  protected call<R = unknown>(method: string, ...args: unknown[]): Promise<R> {
    const options = { what: `${this.ref.typeid}.${method}()`, timeout: this.timeout === undefined ? this.#client.timeout : this.timeout };
    return this.#client.call(this.ref, method, args, options) as Promise<R>;
  }

  /** A call that may wait on the server for `wait` seconds (null: until it is woken) before replying. */
  protected waiting<R = unknown>(wait: number | null, method: string, ...args: unknown[]): Promise<R> {
    const limit = this.timeout === undefined ? this.#client.timeout : this.timeout;
    const options = { what: `${this.ref.typeid}.${method}()`, timeout: limit === null || wait === null ? null : limit + Math.max(0, wait) };
    return this.#client.call(this.ref, method, args, options) as Promise<R>;
  }

  /** Gives this proxy's reference back now, rather than when it is collected. */
  release(): void {
    if (this.#released) return;
    this.#released = true;
    collected.unregister(this);
    this.#client.release(this.ref);
  }

  [Symbol.dispose]() {
    this.release();
  }

  [REDUCE](): Reduced {
    return this.#client.reduce(this.ref);
  }

  toString() {
    return `<${this.ref.typeid} proxy #${this.ref.id} at ${describe(this.#client.address)}>`;
  }
}

export class ListProxy<T = unknown> extends BaseProxy {
  append(v: T) { return this.call<void>('append', v); }
  /** JavaScript's name: appends and resolves with the new length. */
  push(...vs: T[]) { return this.call<number>('push', ...vs); }
  extend(vs: Iterable<T>) { return this.call<void>('extend', [...vs]); }
  insert(i: number, v: T) { return this.call<void>('insert', i, v); }
  pop(i = -1) { return this.call<T>('pop', i); }
  remove(v: T) { return this.call<void>('remove', v); }
  index(v: T) { return this.call<number>('index', v); }
  count(v: T) { return this.call<number>('count', v); }
  sort({ reverse = false } = {}) { return this.call<void>('sort', reverse); }
  reverse() { return this.call<void>('reverse'); }
  get(i: number) { return this.call<T>('get', i); }
  set(i: number, v: T) { return this.call<void>('set', i, v); }
  get length(): Promise<number> { return this.call<number>('len'); }
  slice(start?: number, end?: number) { return this.call<T[]>('slice', start, end); }
  toArray() { return this.call<T[]>('toArray'); }
  clear() { return this.call<void>('clear'); }
  async *[Symbol.asyncIterator]() { yield* await this.toArray(); }
}

/** A manager Array: a fixed-length list of numbers. */
export class ArrayProxy<T = number> extends BaseProxy {
  get(i: number) { return this.call<T>('get', i); }
  set(i: number, v: T) { return this.call<void>('set', i, v); }
  get length(): Promise<number> { return this.call<number>('len'); }
  toArray() { return this.call<T[]>('toArray'); }
  slice(start?: number, end?: number) { return this.call<T[]>('slice', start, end); }
  async *[Symbol.asyncIterator]() { yield* await this.toArray(); }
}

type Key = string | number;
export class DictProxy<V = unknown> extends BaseProxy {
  get(k: Key, fallback: V | null = null) { return this.call<V | null>('get', k, fallback); }
  set(k: Key, v: V) { return this.call<void>('set', k, v); }
  has(k: Key) { return this.call<boolean>('has', k); }
  delete(k: Key) { return this.call<void>('delete', k); }
  keys() { return this.call<Key[]>('keys'); }
  values() { return this.call<V[]>('values'); }
  items() { return this.call<[Key, V][]>('items'); }
  entries() { return this.items(); }
  update(other: Record<string, V> | [Key, V][]) { return this.call<void>('update', other); }
  setdefault(k: Key, v: V) { return this.call<V>('setdefault', k, v); }
  pop(k: Key, ...fallback: [V?]) { return this.call<V>('pop', k, ...fallback); }
  /** Removes and resolves with the last [key, value] added (Python's popitem). */
  popitem() { return this.call<[Key, V]>('popitem'); }
  /** A plain copy of the dict's contents (Python's copy(), which also returns a plain dict). */
  copy() { return this.call<Record<string, V>>('copy'); }
  clear() { return this.call<void>('clear'); }
  get length(): Promise<number> { return this.call<number>('len'); }
  toObject() { return this.call<Record<string, V>>('toObject'); }
}

export class ValueProxy<T = unknown> extends BaseProxy {
  get() { return this.call<T>('get'); }
  set(v: T) { return this.call<void>('set', v); }
}

export class NamespaceProxy extends BaseProxy {
  get<T = unknown>(name: string) { return this.call<T>('get', name); }
  set(name: string, v: unknown) { return this.call<void>('set', name, v); }
  delete(name: string) { return this.call<void>('delete', name); }
  toObject() { return this.call<Record<string, unknown>>('toObject'); }
}

export class SetProxy<T = unknown> extends BaseProxy {
  add(v: T) { return this.call<void>('add', v); }
  discard(v: T) { return this.call<void>('discard', v); }
  remove(v: T) { return this.call<void>('remove', v); }
  has(v: T) { return this.call<boolean>('has', v); }
  get length(): Promise<number> { return this.call<number>('len'); }
  toArray() { return this.call<T[]>('toArray'); }
  clear() { return this.call<void>('clear'); }
}

export interface RemoteAcquire { blocking?: boolean; timeout?: number | null }

export class LockProxy extends BaseProxy {
  acquire({ blocking = true, timeout = null }: RemoteAcquire = {}) { return this.waiting<boolean>(blocking ? timeout : 0, 'acquire', blocking, timeout); }
  override release() { return this.call<void>('release'); }
  locked() { return this.call<boolean>('locked'); }
  /** `await using _ = await lock.hold()` is Python's `with lock:`. */
  async hold(options?: RemoteAcquire): Promise<AsyncDisposable> {
    if (!await this.acquire(options)) throw new TimeoutError('Timed out waiting for the manager lock');
    return { [Symbol.asyncDispose]: () => this.release() };
  }
}

export class SemaphoreProxy extends LockProxy {
  override release(n = 1) { return this.call<void>('release', n); }
  getValue() { return this.call<number>('getValue'); }
}

export class ConditionProxy extends LockProxy {
  wait(timeout: number | null = null) { return this.waiting<boolean>(timeout, 'wait', timeout); }
  /** Waits until `predicate()` (checked here, with the lock held) is truthy; resolves with its value. */
  async waitFor<R>(predicate: () => R | Promise<R>, timeout: number | null = null): Promise<R> {
    const end = timeout == null ? Infinity : Date.now() + timeout * 1000;
    let result = await predicate();
    while (!result) {
      const left = end === Infinity ? null : (end - Date.now()) / 1000;
      if (left !== null && left <= 0) break;
      await this.wait(left);
      result = await predicate();
    }
    return result;
  }
  notify(n = 1) { return this.call<void>('notify', n); }
  notifyAll() { return this.call<void>('notifyAll'); }
}

export class EventProxy extends BaseProxy {
  isSet() { return this.call<boolean>('isSet'); }
  set() { return this.call<void>('set'); }
  clear() { return this.call<void>('clear'); }
  wait(timeout: number | null = null) { return this.waiting<boolean>(timeout, 'wait', timeout); }
}

export class BarrierProxy extends BaseProxy {
  wait(timeout: number | null = null) { return this.waiting<number>(timeout, 'wait', timeout); }
  abort() { return this.call<void>('abort'); }
  reset() { return this.call<void>('reset'); }
  get parties(): Promise<number> { return this.call<number>('getParties'); }
  get nWaiting(): Promise<number> { return this.call<number>('nWaiting'); }
  get broken(): Promise<boolean> { return this.call<boolean>('isBroken'); }
}

export interface RemotePut { block?: boolean; timeout?: number | null }

export class QueueProxy<T = unknown> extends BaseProxy {
  put(item: T, { block = true, timeout = null }: RemotePut = {}) { return this.waiting<void>(block ? timeout : 0, 'put', item, block, timeout); }
  get({ block = true, timeout = null }: RemotePut = {}) { return this.waiting<T>(block ? timeout : 0, 'get', block, timeout); }
  putNowait(item: T) { return this.call<void>('putNowait', item); }
  getNowait() { return this.call<T>('getNowait'); }
  qsize() { return this.call<number>('qsize'); }
  empty() { return this.call<boolean>('empty'); }
  full() { return this.call<boolean>('full'); }
  taskDone() { return this.call<void>('taskDone'); }
  join() { return this.waiting<void>(null, 'join'); }
}

/** Every method of a registered type `T`, as an awaitable call. */
export type Remote<T> = { [K in keyof T]: T[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never };

/** The proxy of a type registered by the user: any method name becomes a call on the server. */
function autoProxy(client: Transport, ref: Ref): BaseProxy {
  const base = new BaseProxy(client, ref);
  return new Proxy(base, {
    get(target, key, receiver) {
      if (typeof key === 'symbol' || key in target || key === 'then') return Reflect.get(target, key, receiver);
      return (...args: unknown[]) => (target as unknown as { call(m: string, ...a: unknown[]): Promise<unknown> }).call(key, ...args);
    },
  });
}

export const PROXIES: Record<string, new (client: Transport, ref: Ref) => BaseProxy> = {
  list: ListProxy, dict: DictProxy, Value: ValueProxy, Array: ArrayProxy, Namespace: NamespaceProxy, set: SetProxy,
  Lock: LockProxy, RLock: LockProxy, Semaphore: SemaphoreProxy, BoundedSemaphore: SemaphoreProxy,
  Condition: ConditionProxy, Event: EventProxy, Barrier: BarrierProxy, Queue: QueueProxy, JoinableQueue: QueueProxy,
};

export function makeProxy(client: Transport, ref: Ref): BaseProxy {
  const Kind = PROXIES[ref.typeid];
  return Kind ? new Kind(client, ref) : autoProxy(client, ref);
}

export interface ProxyState { address: Address; key: string; id: number; typeid: string; timeout: number | null }
registerType('Proxy', (s: ProxyState) => {
  const client = clientFor(s.address, Buffer.from(s.key, 'base64'));
  client.timeout ??= s.timeout; // the manager's option reaches the processes its proxies go to
  client.tell('claim', s.id);
  return makeProxy(client, new Ref(s.id, s.typeid));
});
