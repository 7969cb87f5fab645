// What a Python client's proxies call, run on mpkit's server objects (shared_types.ts): per typeid,
// the methods CPython's proxy for it exposes, by their Python names, with Python's errors (KeyError,
// IndexError, queue.Empty) so that Python code catches what it would catch from a Python manager.
import { Empty, Full } from '../queues.ts';
import { BrokenBarrierError } from '../synchronize.ts';
import { PyGlobal, PyObject, PySlice, PythonError, isTuple, tuple } from '../pickle/values.ts';
import { SemaphoreImpl, type ArrayImpl, type BarrierImpl, type ConditionImpl, type DictImpl, type EventImpl, type ListImpl, type LockImpl, type NamespaceImpl, type QueueImpl, type ValueImpl } from './shared_types.ts';

type Served = (obj: any, args: unknown[], kwds: Record<string, unknown>) => unknown;

const raise = (type: string, ...args: unknown[]): never => {
  const [module, name] = type.includes('.') ? [type.slice(0, type.lastIndexOf('.')), type.slice(type.lastIndexOf('.') + 1)] : ['builtins', type];
  throw new PythonError(new PyGlobal(module, name), args);
};

/** An error of mpkit's server objects, as the Python exception a Python caller expects. */
export function asPythonError(e: unknown): PythonError {
  if (e instanceof PythonError) return e;
  if (e instanceof Empty) return new PythonError(new PyGlobal('_queue', 'Empty'), []);
  if (e instanceof Full) return new PythonError(new PyGlobal('queue', 'Full'), []);
  if (e instanceof BrokenBarrierError) return new PythonError(new PyGlobal('threading', 'BrokenBarrierError'), []);
  const message = e instanceof Error ? e.message : String(e);
  const type = e instanceof RangeError && /out of range/.test(message) ? 'IndexError' : e instanceof RangeError || e instanceof TypeError ? 'ValueError' : 'RuntimeError';
  return new PythonError(new PyGlobal('builtins', type), [message]);
}

/** Python's slice semantics on a length: the indices it selects. */
function indices(length: number, s: PySlice): number[] {
  const step = s.step ?? 1;
  if (step === 0) raise('ValueError', 'slice step cannot be zero');
  const clamp = (v: number | null, fallback: number) => (v === null ? fallback : v < 0 ? Math.max(v + length, step < 0 ? -1 : 0) : Math.min(v, step < 0 ? length - 1 : length));
  const start = clamp(s.start, step < 0 ? length - 1 : 0), stop = clamp(s.stop, step < 0 ? -1 : length), out: number[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(i);
  return out;
}

const item = (items: unknown[], i: unknown) => {
  if (typeof i !== 'number' || !Number.isInteger(i)) return raise('TypeError', 'list indices must be integers or slices');
  const at = i < 0 ? items.length + i : i;
  if (at < 0 || at >= items.length) raise('IndexError', 'list index out of range');
  return at;
};

const getItem = (items: unknown[], i: unknown) => (i instanceof PySlice ? indices(items.length, i).map((at) => items[at]) : items[item(items, i)]);

const LIST: Record<string, Served> = {
  __getitem__: (o: ListImpl, [i]) => getItem(o.items, i),
  __setitem__: (o: ListImpl, [i, v]) => { if (i instanceof PySlice) raise('TypeError', 'slice assignment is not served by mpkit'); o.items[item(o.items, i)] = v; },
  __delitem__: (o: ListImpl, [i]) => {
    const doomed = new Set(i instanceof PySlice ? indices(o.items.length, i) : [item(o.items, i)]);
    o.items = o.items.filter((_, at) => !doomed.has(at));
  },
  __len__: (o: ListImpl) => o.items.length,
  __contains__: (o: ListImpl, [v]) => { try { o.index(v); return true; } catch { return false; } },
  __add__: (o: ListImpl, [other]) => [...o.items, ...(other as unknown[])],
  __mul__: (o: ListImpl, [n]) => Array.from({ length: Math.max(0, n as number) }, () => o.items).flat(),
  __rmul__: (o: ListImpl, [n]) => Array.from({ length: Math.max(0, n as number) }, () => o.items).flat(),
  __imul__: (o: ListImpl, [n]) => { o.items = Array.from({ length: Math.max(0, n as number) }, () => o.items).flat(); },
  append: (o: ListImpl, [v]) => o.append(v),
  extend: (o: ListImpl, [vs]) => o.extend([...(vs as Iterable<unknown>)]),
  insert: (o: ListImpl, [i, v]) => o.insert(i as number, v),
  pop: (o: ListImpl, [i = -1]) => o.items.splice(item(o.items, i), 1)[0],
  remove: (o: ListImpl, [v]) => { try { o.remove(v); } catch { raise('ValueError', 'list.remove(x): x not in list'); } },
  index: (o: ListImpl, [v]) => { try { return o.index(v); } catch { return raise('ValueError', `${String(v)} is not in list`); } },
  count: (o: ListImpl, [v]) => o.count(v),
  reverse: (o: ListImpl) => o.reverse(),
  sort: (o: ListImpl, _, { reverse = false, key = null }) => { if (key !== null) raise('TypeError', 'sort(key=...) cannot cross to the server'); o.sort(reverse as boolean); },
};

const key = (k: unknown) => {
  if (typeof k === 'object' && k !== null) raise('TypeError', 'keys of a dict mpkit serves are str, int, float, bool or None');
  return k as string | number;
};
const has = (o: DictImpl, k: unknown) => o.map.has(key(k));
const pythonDict = (map: Map<string | number, unknown>) => ([...map.keys()].every((k) => typeof k === 'string') ? Object.fromEntries(map) : new Map(map));

const DICT: Record<string, Served> = {
  __getitem__: (o: DictImpl, [k]) => (has(o, k) ? o.map.get(key(k)) : raise('KeyError', k)),
  __setitem__: (o: DictImpl, [k, v]) => { o.map.set(key(k), v); },
  __delitem__: (o: DictImpl, [k]) => { if (!o.map.delete(key(k))) raise('KeyError', k); },
  __contains__: (o: DictImpl, [k]) => has(o, k),
  __len__: (o: DictImpl) => o.map.size,
  __iter__: (o: DictImpl) => new Iteration([...o.map.keys()]),
  get: (o: DictImpl, [k, fallback = null]) => (has(o, k) ? o.map.get(key(k)) : fallback),
  keys: (o: DictImpl) => [...o.map.keys()],
  values: (o: DictImpl) => [...o.map.values()],
  items: (o: DictImpl) => [...o.map].map(([k, v]) => tuple(k, v)),
  clear: (o: DictImpl) => o.clear(),
  copy: (o: DictImpl) => pythonDict(o.map),
  pop: (o: DictImpl, [k, ...fallback]) => (has(o, k) ? o.pop(key(k)) : fallback.length ? fallback[0] : raise('KeyError', k)),
  popitem: (o: DictImpl) => (o.map.size ? tuple(...(o.popitem() as [unknown, unknown])) : raise('KeyError', 'popitem(): dictionary is empty')),
  setdefault: (o: DictImpl, [k, v = null]) => { if (!has(o, k)) o.map.set(key(k), v); return o.map.get(key(k)); },
  update: (o: DictImpl, [other = {}], kwds) => {
    const entries = other instanceof Map ? [...other] : Array.isArray(other) ? other.map((p) => [...(p as unknown[])]) : Object.entries(other as object);
    for (const [k, v] of [...entries, ...Object.entries(kwds)]) o.map.set(key(k), v);
  },
};

/** What dict.__iter__ hands out: CPython's Iterator typeid, a proxy whose __next__ walks a snapshot of the keys. */
export class Iteration {
  #items: unknown[];
  #at = 0;
  constructor(items: unknown[]) { this.#items = items; }
  next() { return this.#at < this.#items.length ? this.#items[this.#at++] : raise('StopIteration'); }
}

const ITERATOR: Record<string, Served> = { __next__: (o: Iteration) => o.next() };

const VALUE: Record<string, Served> = {
  get: (o: ValueImpl) => o.get(),
  set: (o: ValueImpl, [v]) => o.set(v),
};

const ARRAY: Record<string, Served> = {
  __len__: (o: ArrayImpl) => o.items.length,
  __getitem__: (o: ArrayImpl, [i]) => getItem(o.items, i),
  __setitem__: (o: ArrayImpl, [i, v]) => { o.items[item(o.items, i)] = v; },
};

const NAMESPACE: Record<string, Served> = {
  __getattribute__: (o: NamespaceImpl, [name]) => (Object.hasOwn(o.attrs, name as string) ? o.attrs[name as string] : raise('AttributeError', `'Namespace' object has no attribute '${String(name)}'`)),
  __setattr__: (o: NamespaceImpl, [name, v]) => o.set(name as string, v),
  __delattr__: (o: NamespaceImpl, [name]) => { if (!Object.hasOwn(o.attrs, name as string)) raise('AttributeError', String(name)); o.delete(name as string); },
};

const ACQUIRER: Record<string, Served> = {
  acquire: (o: LockImpl | SemaphoreImpl, [blocking = true, timeout = null]) => o.acquire(blocking as boolean, timeout as number | null),
  release: (o: LockImpl | SemaphoreImpl) => { try { o.release(); } catch (e) { raise(o instanceof SemaphoreImpl ? 'ValueError' : 'RuntimeError', (e as Error).message); } },
};

const CONDITION: Record<string, Served> = {
  ...ACQUIRER,
  acquire: (o: ConditionImpl, [blocking = true, timeout = null]) => o.lock.acquire(blocking as boolean, timeout as number | null),
  release: (o: ConditionImpl) => { try { o.lock.release(); } catch (e) { raise('RuntimeError', (e as Error).message); } },
  wait: (o: ConditionImpl, [timeout = null]) => o.wait(timeout as number | null),
  notify: (o: ConditionImpl, [n = 1]) => o.notify(n as number),
  notify_all: (o: ConditionImpl) => o.notifyAll(),
};

const EVENT: Record<string, Served> = {
  is_set: (o: EventImpl) => o.isSet(),
  set: (o: EventImpl) => o.set(),
  clear: (o: EventImpl) => o.clear(),
  wait: (o: EventImpl, [timeout = null]) => o.wait(timeout as number | null),
};

const BARRIER_FIELDS: Record<string, (o: BarrierImpl) => unknown> = { parties: (o) => o.parties, n_waiting: (o) => o.count, broken: (o) => o.broken };
const BARRIER: Record<string, Served> = {
  wait: (o: BarrierImpl, [timeout = null]) => o.wait(timeout as number | null),
  abort: (o: BarrierImpl) => o.abort(),
  reset: (o: BarrierImpl) => o.reset(),
  __getattribute__: (o: BarrierImpl, [name]) => (BARRIER_FIELDS[name as string] ?? (() => raise('AttributeError', String(name))))(o),
};

const QUEUE: Record<string, Served> = {
  put: (o: QueueImpl, [item, block = true, timeout = null]) => o.put(item, block as boolean, timeout as number | null),
  get: (o: QueueImpl, [block = true, timeout = null]) => o.get(block as boolean, timeout as number | null),
  put_nowait: (o: QueueImpl, [item]) => o.put(item, false),
  get_nowait: (o: QueueImpl) => o.get(false),
  qsize: (o: QueueImpl) => o.qsize(),
  empty: (o: QueueImpl) => o.empty(),
  full: (o: QueueImpl) => o.full(),
  task_done: (o: QueueImpl) => { try { o.taskDone(); } catch { raise('ValueError', 'task_done() called too many times'); } },
  join: (o: QueueImpl) => o.join(),
};

/** Per typeid, the methods served to Python; their names are what the create reply exposes. */
export const SERVED: Record<string, Record<string, Served>> = {
  list: LIST, dict: DICT, Value: VALUE, Array: ARRAY, Namespace: NAMESPACE, Iterator: ITERATOR,
  Lock: ACQUIRER, RLock: ACQUIRER, Semaphore: ACQUIRER, BoundedSemaphore: ACQUIRER,
  Condition: CONDITION, Event: EVENT, Barrier: BARRIER, Queue: QUEUE, JoinableQueue: QUEUE,
};

// The parameters of the methods Python may call with keywords (q.get(timeout=1)), by position.
const QUEUE_PARAMS = { put: ['item', 'block', 'timeout'], get: ['block', 'timeout'], put_nowait: ['item'] };
const ACQUIRE_PARAMS = { acquire: ['blocking', 'timeout'] };
const PARAMS: Record<string, Record<string, string[]>> = {
  Queue: QUEUE_PARAMS, JoinableQueue: QUEUE_PARAMS,
  Lock: ACQUIRE_PARAMS, RLock: ACQUIRE_PARAMS, Semaphore: ACQUIRE_PARAMS, BoundedSemaphore: ACQUIRE_PARAMS,
  Condition: { ...ACQUIRE_PARAMS, wait: ['timeout'], notify: ['n'] },
  Event: { wait: ['timeout'] }, Barrier: { wait: ['timeout'] },
  dict: { get: ['key', 'default'], pop: ['key', 'default'], setdefault: ['key', 'default'] },
  list: { pop: ['index'], insert: ['index', 'object'], index: ['value'] },
};

/** A call's keyword arguments moved to their places among the positional ones, where the method's parameters are known. */
export function positional(typeid: string, method: string, args: unknown[], kwds: Record<string, unknown>): [unknown[], Record<string, unknown>] {
  const names = PARAMS[typeid]?.[method];
  if (!names || Object.keys(kwds).length === 0) return [args, kwds];
  const out = [...args];
  for (const [name, value] of Object.entries(kwds)) {
    const at = names.indexOf(name);
    if (at < 0) raise('TypeError', `${method}() got an unexpected keyword argument '${name}'`);
    if (at < args.length) raise('TypeError', `${method}() got multiple values for argument '${name}'`);
    out[at] = value;
  }
  // A keyword that skips a parameter leaves a hole, which the method's default fills.
  return [Array.from({ length: out.length }, (_, i) => out[i]), {}];
}

/** CPython's method_to_typeid: results that go back as proxies of these typeids. */
export const RETURNS_PROXY: Record<string, Record<string, string>> = { dict: { __iter__: 'Iterator' } };

/** '#GETVALUE': the object itself, as a Python value (a Namespace as CPython's class). */
export function valueOf(obj: object): unknown {
  if ('attrs' in obj && obj.constructor.name === 'NamespaceImpl') {
    const ns = new PyObject(new PyGlobal('multiprocessing.managers', 'Namespace'), []);
    ns.state = { ...(obj as NamespaceImpl).attrs };
    return ns;
  }
  if ('map' in obj) return pythonDict((obj as DictImpl).map);
  if ('items' in obj && Array.isArray((obj as ListImpl).items)) return (obj as ListImpl).items;
  if ('value' in obj) return (obj as ValueImpl).value;
  return raise('TypeError', `a ${obj.constructor.name} has no value to copy`);
}

export { isTuple };
