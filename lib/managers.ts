// Python's managers: a server process holds lists, dicts, values, locks and queues, and other
// processes use them through proxies, on this machine (a Unix socket in a private folder) or
// across machines (TCP, with an authkey both sides must prove before anything else is read).
// The pieces: connection.ts (frames, handshake), managers/server.ts (the objects and their
// reference counts), managers/shared_types.ts (what the objects do), managers/proxies.ts (the
// client's side).
import { describe, type Address } from './connection/socket.ts';
import { Process } from './process.ts';
import { Event } from './synchronize.ts';
import { Value, type SharedValue } from './sharedctypes.ts';
import { mainModule } from './platform/runtime.ts';
import { moduleURL } from './spawn.ts';
import { importingTarget } from './identity.ts';
import { processEnded } from './platform/linux.ts';
import { builtin } from './platform/builtins.ts';
import { ownTargets } from './platform/files.ts';
import { DEFAULT_LIMITS, Server, type Factory } from './managers/server.ts';
import type { Limits } from './managers/caller.ts';
import {
  ArrayImpl, BarrierImpl, ConditionImpl, DictImpl, EventImpl, ListImpl, LockImpl, NamespaceImpl, QueueImpl, SemaphoreImpl,
  SetImpl, ValueImpl,
} from './managers/shared_types.ts';
import {
  ArrayProxy, BarrierProxy, BaseProxy, ConditionProxy, DictProxy, EventProxy, ListProxy, LockProxy, NamespaceProxy,
  QueueProxy, SemaphoreProxy, SetProxy, ValueProxy, clientFor, forgetClient, type Remote,
} from './managers/proxies.ts';
import { PythonClient } from './managers/python_client.ts';
import { PythonServer } from './managers/python_server.ts';
import { CREATE_ARGS } from './managers/python_methods.ts';

const READY_TIMEOUT_S = 60;
const STOP_TIMEOUT_S = 5;

/** Every type a manager serves, by typeid; BaseManager.register adds the user's own. */
const registry = new Map<string, Factory>([
  ['list', (items?: unknown[]) => new ListImpl(items)],
  ['dict', (init?: Record<string, unknown>) => new DictImpl(init)],
  ['Value', (typecode: string | null, value: unknown) => new ValueImpl(typecode, value)],
  ['Array', (typecode: string, values: number[] | number) => new ArrayImpl(typecode, values)],
  ['Namespace', (init?: Record<string, unknown>) => new NamespaceImpl(init)],
  ['set', (items?: unknown[]) => new SetImpl(items)],
  ['Lock', () => new LockImpl(false)],
  ['RLock', () => new LockImpl(true)],
  ['Semaphore', (value = 1) => new SemaphoreImpl(value)],
  ['BoundedSemaphore', (value = 1) => new SemaphoreImpl(value, true)],
  ['Condition', (lock?: LockImpl) => new ConditionImpl(lock)],
  ['Event', () => new EventImpl()],
  ['Barrier', (parties: number, timeout?: number | null) => new BarrierImpl(parties, timeout ?? null)],
  ['Queue', (maxsize = 0) => new QueueImpl(maxsize)],
  ['JoinableQueue', (maxsize = 0) => new QueueImpl(maxsize)],
]);
/** mpkit's own types, whose objects keep what they hold in fields the server can walk (managers/reachable.ts). */
const BUILT_IN = new Set(registry.keys());

export interface ManagerOptions {
  /**
   * A Unix socket path, or { host, port } for TCP (port 0 picks one; host defaults to 127.0.0.1).
   * Default: a socket in a private folder.
   */
  address?: Address | { port: number };
  /** The shared secret; random by default, and handed to the processes this one starts. */
  authkey?: string | Uint8Array;
  /**
   * The module the server imports first, so that its top-level register() calls run there too:
   * by default the program's main module (keep its own work behind mp.isMain); null for none.
   */
  module?: string | URL | null;
  /**
   * The largest request or reply, in bytes (default 64 MiB). A bigger one is refused with a
   * RangeError before it is sent; a peer that sends one anyway is cut off.
   */
  maxFrameBytes?: number;
  /** The most items one list, Array or queue on the server may hold (default 10,000,000). */
  maxItems?: number;
  /**
   * Seconds a call waits for its reply before it fails with TimeoutError (default null: forever,
   * as in Python). Per proxy: `proxy.timeout`. Calls that wait by design add their own timeout.
   */
  timeout?: number | null;
  /**
   * Called in the server process before it serves, with `initargs` (Python's initializer): a named
   * function exported by `module`, or its export name.
   */
  initializer?: ((...args: never[]) => unknown) | string;
  initargs?: unknown[];
  /**
   * 'python': the server is a Python manager (multiprocessing.managers.SyncManager or BaseManager
   * in python3), spoken to in CPython's protocol: connect() to it by address and authkey.
   * Default 'mpkit'.
   */
  protocol?: 'mpkit' | 'python';
}

function limitsOf({ maxFrameBytes = DEFAULT_LIMITS.maxFrameBytes, maxItems = DEFAULT_LIMITS.maxItems }: ManagerOptions): Limits {
  for (const [name, v] of [['maxFrameBytes', maxFrameBytes], ['maxItems', maxItems]] as const) {
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`${name} is a whole number, at least 1, not ${v}`);
  }
  if (maxFrameBytes > 2 ** 32 - 1) throw new RangeError(`maxFrameBytes is at most ${2 ** 32 - 1} (a frame's length is 4 bytes), not ${maxFrameBytes}`);
  return { maxFrameBytes, maxItems };
}

function initOf({ initializer, initargs = [] }: ManagerOptions): { target: string; args: unknown[] } | null {
  if (initializer === undefined) return null;
  const name = typeof initializer === 'function' ? initializer.name : initializer;
  if ((typeof initializer !== 'function' && typeof initializer !== 'string') || !name || name === 'anonymous') {
    throw new TypeError('A manager initializer is a named function exported by the manager\'s module (or its export name), so the server process can import it');
  }
  if (!Array.isArray(initargs)) throw new TypeError('initargs is an array of the initializer\'s arguments');
  return { target: name, args: initargs };
}

function timeoutOf(timeout: number | null | undefined): number | null | undefined {
  if (timeout === undefined || timeout === null || (typeof timeout === 'number' && timeout >= 0 && Number.isFinite(timeout))) return timeout;
  throw new RangeError(`timeout is a number of seconds, at least 0, or null for none, not ${String(timeout)}`);
}

function keyOf(authkey: string | Uint8Array | undefined): Uint8Array {
  if (authkey === undefined) return crypto.getRandomValues(new Uint8Array(32));
  if (typeof authkey === 'string') return new TextEncoder().encode(authkey);
  if (authkey instanceof Uint8Array) return authkey;
  throw new TypeError('An authkey is a string or a Uint8Array');
}

function checkAddress(address: Address | { port: number }): Address {
  if (typeof address === 'string') return address;
  if (address && !('host' in address)) address = { host: '127.0.0.1', ...address }; // loopback unless asked
  if (!address || typeof address.host !== 'string' || !Number.isInteger(address.port) || address.port < 0 || address.port > 65535) {
    throw new TypeError('A manager address is a Unix socket path, or { host, port } with a port from 0 to 65535');
  }
  return address;
}

export class BaseManager implements AsyncDisposable {
  #address: Address;
  #key: Uint8Array;
  #folder: string | null = null;
  #server: Process | null = null;
  #module: string | null;
  readonly #limits: Limits;
  readonly #timeout: number | null | undefined;
  readonly #init: { target: string; args: unknown[] } | null;
  #python: PythonClient | null = null;

  /** Makes `typeid` a type the manager serves: the factory (a class or function) runs in the server. */
  static register(typeid: string, factory: Factory): void {
    if (typeof typeid !== 'string' || !typeid) throw new TypeError('register() needs a typeid string');
    if (typeof factory !== 'function') throw new TypeError(`register("${typeid}") needs a class or function that makes the object`);
    registry.set(typeid, factory);
  }

  constructor(options: ManagerOptions = {}) {
    const { authkey, module } = options;
    let { address } = options;
    this.#limits = limitsOf(options);
    this.#timeout = timeoutOf(options.timeout);
    this.#init = initOf(options);
    this.#module = module === undefined ? mainModule() || null : module === null ? null : moduleURL(module);
    if (address === undefined) {
      const { mkdtempSync } = builtin('node:fs'), { join } = builtin('node:path');
      this.#folder = mkdtempSync(join(builtin('node:os').tmpdir(), 'mpkit-manager-')); // mode 0700: ours alone
      removeAtExit(this.#folder);
      address = join(this.#folder, 'socket');
    }
    this.#address = checkAddress(address);
    this.#key = keyOf(authkey);
    if (options.protocol === 'python') {
      if (options.authkey === undefined) throw new TypeError('Python reaches a manager by its address and authkey: pass the authkey (and the address, for one Python started)');
      this.#python = new PythonClient(this.#address, this.#key);
      if (this.#timeout !== undefined) this.#python.timeout = this.#timeout;
    } else if (options.protocol !== undefined && options.protocol !== 'mpkit') {
      throw new TypeError(`Unknown manager protocol "${String(options.protocol)}": use 'mpkit' or 'python'`);
    }
  }

  get address(): Address {
    return this.#address;
  }

  /** The server process's pid, for a manager this process started. */
  get pid(): number | undefined {
    return this.#server?.pid;
  }

  /** Starts the server in a process of its own and connects to it. */
  async start(): Promise<this> {
    if (this.#server) throw new Error('Cannot start a manager twice');
    const ready = new Event();
    const port = Value('i', 0);
    if (this.#init && !this.#module) throw new TypeError('A manager initializer needs the module that exports it: pass module (it is null)');
    const args: ServeArgs = { address: this.#address, key: this.#key, preload: this.#module, ready, port, parentPid: process.pid, folder: this.#folder, limits: this.#limits, init: this.#init, protocol: this.#python ? 'python' : 'mpkit' };
    const server = new Process({ target: serveManager, args: [args], module: ownTargets(import.meta.url), daemon: true, name: 'SyncManager' });
    this.#server = server;
    server.start();
    const end = Date.now() + READY_TIMEOUT_S * 1000;
    while (!(await ready.waitAsync(0.05))) {
      if (!server.isAlive()) throw new Error(`The manager server exited with code ${server.exitCode} before it was ready: its error is above`);
      if (Date.now() > end) { server.kill(); throw new Error(`The manager server was not ready within ${READY_TIMEOUT_S} s`); }
    }
    if (typeof this.#address !== 'string') this.#address = { ...this.#address, port: port.value };
    if (this.#python) this.#python = Object.assign(new PythonClient(this.#address, this.#key), { timeout: this.#python.timeout });
    return this.connect();
  }

  /** Connects to a server that is already running at this manager's address. */
  async connect(): Promise<this> {
    if (this.#python) { await this.#python.ping(); return this; }
    const client = clientFor(this.#address, this.#key);
    if (this.#timeout !== undefined) client.timeout = this.#timeout;
    await client.request('ping');
    return this;
  }

  /**
   * Closes this thread's connection to the server, which then gives back every reference it held
   * (objects no one else names are freed). Its proxies stop working; the server keeps running.
   */
  disconnect(): void {
    if (this.#python) return this.#python.close();
    forgetClient(this.#address, this.#key);
  }

  /** Serves in this process until a client calls shutdown(): for a program that is the server. */
  async serve(onListening?: (address: Address) => void): Promise<void> {
    const server = this.#python ? new PythonServer(registry, this.#limits) : new Server(registry, BUILT_IN, this.#limits);
    this.#address = await server.listen(this.#address, this.#key);
    onListening?.(this.#address);
    await server.stopped;
  }

  /** Makes a new object of a registered type on the server; resolves with its proxy. */
  async create<T = BaseProxy>(typeid: string, ...args: unknown[]): Promise<T> {
    if (this.#python) {
      const [pyArgs, kwds] = CREATE_ARGS[typeid]?.(...args) ?? [args, {}];
      return await this.#python.create(typeid, pyArgs, kwds) as T;
    }
    return await clientFor(this.#address, this.#key).request('create', typeid, args) as T;
  }

  /** A registered type's object, its methods typed from `T` (the class the server runs). */
  async get<T>(typeid: string, ...args: unknown[]): Promise<Remote<T> & BaseProxy> {
    return this.create<Remote<T> & BaseProxy>(typeid, ...args);
  }

  /** How many objects the server holds now (Python's _number_of_objects). */
  async numberOfObjects(): Promise<number> {
    if (this.#python) return this.#python.numberOfObjects();
    const { objects } = await clientFor(this.#address, this.#key).request('ping') as { objects: number };
    return objects;
  }

  /** Stops the server; calls still waiting on it fail with ManagerGoneError. */
  async shutdown(): Promise<void> {
    if (this.#python) return this.#python.shutdown();
    const client = clientFor(this.#address, this.#key);
    await client.request('shutdown').catch(() => { /* already gone */ });
    forgetClient(this.#address, this.#key);
    if (this.#server) {
      await this.#server.join(STOP_TIMEOUT_S);
      if (this.#server.isAlive()) this.#server.kill();
    }
    if (this.#folder) removeNow(this.#folder);
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown();
  }

  toString() {
    return `<${this.constructor.name} at ${describe(this.#address)}>`;
  }
}

/** The manager with Python's types: lists, dicts, values, locks, queues and the rest. */
export class SyncManager extends BaseManager {
  list<T = unknown>(items: Iterable<T> = []) { return this.create<ListProxy<T>>('list', [...items]); }
  dict<V = unknown>(init: Record<string, V> = {}) { return this.create<DictProxy<V>>('dict', init); }
  Value<T = number>(typecode: string | null, value: T) { return this.create<ValueProxy<T>>('Value', typecode, value); }
  Array(typecode: string, values: Iterable<number> | number) {
    return this.create<ArrayProxy>('Array', typecode, typeof values === 'number' ? values : [...values]);
  }
  Namespace(init: Record<string, unknown> = {}) { return this.create<NamespaceProxy>('Namespace', init); }
  set<T = unknown>(items: Iterable<T> = []) { return this.create<SetProxy<T>>('set', [...items]); }
  Lock() { return this.create<LockProxy>('Lock'); }
  RLock() { return this.create<LockProxy>('RLock'); }
  Semaphore(value = 1) { return this.create<SemaphoreProxy>('Semaphore', value); }
  BoundedSemaphore(value = 1) { return this.create<SemaphoreProxy>('BoundedSemaphore', value); }
  Condition(lock?: LockProxy) { return this.create<ConditionProxy>('Condition', ...(lock ? [lock] : [])); }
  Event() { return this.create<EventProxy>('Event'); }
  Barrier(parties: number, timeout: number | null = null) { return this.create<BarrierProxy>('Barrier', parties, timeout); }
  Queue<T = unknown>(maxsize = 0) { return this.create<QueueProxy<T>>('Queue', maxsize); }
  JoinableQueue<T = unknown>(maxsize = 0) { return this.create<QueueProxy<T>>('JoinableQueue', maxsize); }
}

/** Starts a SyncManager's server process and resolves with the connected manager (Python's Manager()). */
export function Manager(options?: ManagerOptions): Promise<SyncManager> {
  return new SyncManager(options).start();
}

// Private socket folders of managers this process started, removed when it exits, whether or not
// shutdown() was called (the server removes its own too, when its parent is killed outright).
const folders = new Set<string>();
let hooked = false;

function removeAtExit(folder: string) {
  if (!hooked) process.once('exit', () => { for (const f of folders) removeNow(f); });
  hooked = true;
  folders.add(folder);
}

function removeNow(folder: string) {
  folders.delete(folder);
  builtin('node:fs').rmSync(folder, { recursive: true, force: true });
}

interface ServeArgs {
  address: Address;
  key: Uint8Array;
  preload: string | null;
  ready: Event;
  port: SharedValue<'i'>;
  parentPid: number;
  folder: string | null;
  limits: Limits;
  init: { target: string; args: unknown[] } | null;
  protocol: 'mpkit' | 'python';
}

/** The server process: import the program (for its register() calls), listen, serve until told to stop. */
export async function serveManager({ address, key, preload, ready, port, parentPid, folder, limits, init, protocol }: ServeArgs) {
  // A parent killed outright cannot stop its manager; the manager stops itself, on the kernel's
  // word (a daemon's SIGTERM, taken from the first moment: it can come while the server starts)
  // or on seeing the parent gone, and leaves no socket or folder behind.
  let server: Server | PythonServer | null = null, told = false;
  const cleanUp = () => {
    if (typeof address === 'string') builtin('node:fs').rmSync(address, { force: true });
    if (folder) builtin('node:fs').rmSync(folder, { recursive: true, force: true });
  };
  // Every SIGTERM is taken (a daemon may get more than one as its parent goes), and a shutdown that
  // does not end in 5 s ends anyway, clean.
  process.on('SIGTERM', () => {
    if (told) return;
    told = true;
    server?.shutdown();
    setTimeout(() => { cleanUp(); process.exit(0); }, 5000).unref?.();
  });
  if (preload) {
    const exports = await importingTarget(preload, () => import(preload)) as Record<string, unknown>; // a program without the isMain guard is refused here too
    if (init) {
      const fn = exports[init.target];
      if (typeof fn !== 'function') throw new TypeError(`The manager's initializer "${init.target}" is not exported from ${preload}: export it so the server can run it`);
      await fn(...init.args);
    }
  }
  server = protocol === 'python' ? new PythonServer(registry, limits) : new Server(registry, BUILT_IN, limits);
  const bound = await server.listen(address, key);
  if (typeof bound !== 'string') port.value = bound.port;
  ready.set();
  if (told) server.shutdown();
  const watch = setInterval(() => { if (processEnded(parentPid)) server.shutdown(); }, 500);
  await server.stopped;
  clearInterval(watch);
  cleanUp();
  process.exit(0);
}
