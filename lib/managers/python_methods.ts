// mpkit's proxy methods (proxies.ts) as calls on CPython's proxies' exposed methods, per typeid of
// SyncManager. A method CPython does not expose (Lock.locked, Semaphore's value) fails saying so.
import { PySlice, PyObject, isTuple } from '../pickle/values.ts';

/** Calls one of the Python object's exposed methods. */
/** CPython's module of managers, whose globals both sides name. */
export const MANAGERS = 'multiprocessing.managers';

/** CPython's proxy classes, which a pickle names only for RebuildProxy to rebuild: allowed as plain objects. */
export const PROXY_CLASSES = Object.fromEntries(
  ['AutoProxy', 'BaseProxy', 'ListProxy', 'DictProxy', 'ValueProxy', 'ArrayProxy', 'NamespaceProxy', 'AcquirerProxy', 'ConditionProxy', 'EventProxy', 'BarrierProxy', 'IteratorProxy', 'PoolProxy']
    .map((n) => [`${MANAGERS}.${n}`, 'object' as const]),
);

export type PyCall = (name: string, args?: unknown[], kwds?: Record<string, unknown>) => Promise<unknown>;
type Method = (py: PyCall, ...args: any[]) => Promise<unknown>;

const ALL = new PySlice(null, null);
const notExposed = (typeid: string, method: string, instead: string): Method => async () => {
  throw new TypeError(`CPython's ${typeid} proxy does not expose ${method}: ${instead}`);
};
/** A dict, or a Map where Python's keys are not all str, as mpkit's proxies give one: a plain object. */
const plain = (v: unknown) => (v instanceof Map ? Object.fromEntries(v) : v);
const pair = (v: unknown) => (isTuple(v) ? [...v] : v);

const LIST: Record<string, Method> = {
  append: (py, v) => py('append', [v]),
  push: async (py, ...vs) => { await py('extend', [vs]); return py('__len__'); },
  extend: (py, vs) => py('extend', [vs]),
  insert: (py, i, v) => py('insert', [i, v]),
  pop: (py, i = -1) => py('pop', [i]),
  remove: (py, v) => py('remove', [v]),
  index: (py, v) => py('index', [v]),
  count: (py, v) => py('count', [v]),
  sort: (py, reverse = false) => py('sort', [], { reverse }),
  reverse: (py) => py('reverse'),
  get: (py, i) => py('__getitem__', [i]),
  set: (py, i, v) => py('__setitem__', [i, v]),
  len: (py) => py('__len__'),
  slice: (py, start, end) => py('__getitem__', [new PySlice(start ?? null, end ?? null)]),
  toArray: (py) => py('__getitem__', [ALL]),
  clear: (py) => py('__delitem__', [ALL]),
};

const DICT: Record<string, Method> = {
  get: (py, k, fallback = null) => py('get', [k, fallback]),
  set: (py, k, v) => py('__setitem__', [k, v]),
  has: (py, k) => py('__contains__', [k]),
  delete: (py, k) => py('__delitem__', [k]),
  keys: (py) => py('keys'),
  values: (py) => py('values'),
  items: async (py) => (await py('items') as unknown[]).map(pair),
  update: (py, other) => py('update', [Array.isArray(other) ? new Map(other) : other]),
  setdefault: (py, k, v) => py('setdefault', [k, v]),
  pop: (py, k, ...fallback) => py('pop', [k, ...fallback]),
  popitem: async (py) => pair(await py('popitem')),
  copy: async (py) => plain(await py('copy')),
  clear: (py) => py('clear'),
  len: (py) => py('__len__'),
  toObject: async (py) => plain(await py('copy')),
};

const VALUE: Record<string, Method> = {
  get: (py) => py('get'),
  set: (py, v) => py('set', [v]),
};

const ARRAY: Record<string, Method> = {
  get: (py, i) => py('__getitem__', [i]),
  set: (py, i, v) => py('__setitem__', [i, v]),
  len: (py) => py('__len__'),
  toArray: (py) => py('__getitem__', [ALL]),
  slice: (py, start, end) => py('__getitem__', [new PySlice(start ?? null, end ?? null)]),
};

const NAMESPACE: Record<string, Method> = {
  get: (py, name) => py('__getattribute__', [name]),
  set: (py, name, v) => py('__setattr__', [name, v]),
  delete: (py, name) => py('__delattr__', [name]),
  // Python's Namespace travels as the class and its __dict__, its attributes.
  toObject: async (py) => { const ns = await py('#GETVALUE'); return plain(ns instanceof PyObject ? ns.state : ns); },
};

const ACQUIRER: Record<string, Method> = {
  acquire: (py, blocking = true, timeout = null) => py('acquire', [blocking, ...(blocking && timeout !== null ? [timeout] : [])]),
  release: (py) => py('release'),
  locked: notExposed('Lock', 'locked()', 'acquire with blocking: false to test it'),
};

const SEMAPHORE: Record<string, Method> = {
  ...ACQUIRER,
  release: async (py, n = 1) => { for (let i = 0; i < n; i++) await py('release'); },
  getValue: notExposed('Semaphore', 'its value', 'count acquisitions yourself'),
};

const CONDITION: Record<string, Method> = {
  ...ACQUIRER,
  wait: (py, timeout = null) => py('wait', [timeout]),
  notify: (py, n = 1) => py('notify', [n]),
  notifyAll: (py) => py('notify_all'),
};

const EVENT: Record<string, Method> = {
  isSet: (py) => py('is_set'),
  set: (py) => py('set'),
  clear: (py) => py('clear'),
  wait: (py, timeout = null) => py('wait', [timeout]),
};

const BARRIER: Record<string, Method> = {
  wait: (py, timeout = null) => py('wait', [timeout]),
  abort: (py) => py('abort'),
  reset: (py) => py('reset'),
  getParties: (py) => py('__getattribute__', ['parties']),
  nWaiting: (py) => py('__getattribute__', ['n_waiting']),
  isBroken: (py) => py('__getattribute__', ['broken']),
};

const QUEUE: Record<string, Method> = {
  put: (py, item, block = true, timeout = null) => py('put', [item, block, timeout]),
  get: (py, block = true, timeout = null) => py('get', [block, timeout]),
  putNowait: (py, item) => py('put_nowait', [item]),
  getNowait: (py) => py('get_nowait'),
  qsize: (py) => py('qsize'),
  empty: (py) => py('empty'),
  full: (py) => py('full'),
  taskDone: (py) => py('task_done'),
  join: (py) => py('join'),
};

export const METHODS: Record<string, Record<string, Method>> = {
  list: LIST, dict: DICT, Value: VALUE, Array: ARRAY, Namespace: NAMESPACE,
  Lock: ACQUIRER, RLock: ACQUIRER, Semaphore: SEMAPHORE, BoundedSemaphore: SEMAPHORE,
  Condition: CONDITION, Event: EVENT, Barrier: BARRIER, Queue: QUEUE, JoinableQueue: QUEUE,
};

/** SyncManager's factories' arguments, as mpkit's SyncManager passes them, in CPython's shape: [args, kwds]. */
export const CREATE_ARGS: Record<string, (...args: any[]) => [unknown[], Record<string, unknown>]> = {
  Namespace: (init: Record<string, unknown> = {}) => [[], init],
  Barrier: (parties: number, timeout: number | null = null) => [[parties, null, timeout], {}],
  Array: (typecode: string, values: unknown) => [[typecode, values], {}],
};

/**
 * The SyncManager type whose proxy exposes these methods, for a typeid registered in Python with
 * one of its proxy types (register('get_queue', callable, ...) as CPython's docs do); null if none.
 */
export function kindOf(exposed: readonly string[] | null): string | null {
  if (!exposed) return null;
  const has = (...names: string[]) => names.every((n) => exposed.includes(n));
  if (has('append', '__getitem__')) return 'list';
  if (has('keys', '__getitem__')) return 'dict';
  if (has('put', 'get', 'task_done')) return 'JoinableQueue';
  if (has('put', 'get')) return 'Queue';
  if (has('notify', 'acquire')) return 'Condition';
  if (has('acquire', 'release')) return 'Lock';
  if (has('is_set', 'set')) return 'Event';
  if (has('abort', 'wait')) return 'Barrier';
  if (has('get', 'set') && exposed.length === 2) return 'Value';
  if (has('__len__', '__getitem__', '__setitem__') && exposed.length === 3) return 'Array';
  return null;
}
