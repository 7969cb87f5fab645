// An mpkit manager's server as Python's processes reach it: CPython's manager protocol (pickled
// tuples over CPython's handshake) in front of mpkit's own server objects, so a python3 program's
// BaseManager(address, authkey) or SyncManager client uses them as it would a Python manager's.
// As CPython's server does, it serves one request per connection ('create', 'incref', 'decref',
// ...), except 'accept_connection', after which the connection carries one thread's method calls,
// each answered before the next is read. References are counted as CPython counts them; an object
// stored inside another (a proxy sent in a value) is kept until the server stops.
import type { Server as NetServer } from 'node:net';
import { cpythonHandshake } from '../connection/cpython.ts';
import { listen, type Address, type FramedSocket } from '../connection/socket.ts';
import { dumps, loads } from '../pickle.ts';
import { PickleError, PyGlobal, PyObject, PythonError, tuple } from '../pickle/values.ts';
import { Caller, withCaller, type Limits } from './caller.ts';
import { asPythonError, Iteration, positional, RETURNS_PROXY, SERVED, valueOf } from './python_served.ts';
import type { Factory } from './server.ts';
import { MANAGERS, PROXY_CLASSES } from './python_methods.ts';

const isClass = (f: Factory): f is new (...args: unknown[]) => object => /^class[\s{]/.test(Function.prototype.toString.call(f));

interface Held { obj: object; typeid: string; refs: number; stored: boolean }

/** The methods a Python proxy may call: SyncManager's exposed names, or a registered class's public methods. */
function exposedOf(typeid: string, obj: object): string[] {
  const served = SERVED[typeid];
  if (served) return Object.keys(served);
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(obj); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) if (name !== 'constructor' && !name.startsWith('_') && typeof (obj as Record<string, unknown>)[name] === 'function') names.add(name);
  }
  return [...names];
}

/** SyncManager's factories' arguments as Python passes them, in the shape mpkit's factories take. */
function pythonArgs(typeid: string, args: unknown[], kwds: Record<string, unknown>): unknown[] {
  const named = Object.keys(kwds).length > 0;
  if (typeid === 'Namespace') return [{ ...kwds }];
  if (typeid === 'dict') return [args[0] instanceof Map ? [...args[0]] : { ...(args[0] as object ?? {}), ...kwds }];
  if (typeid === 'Barrier') {
    const [parties = kwds.parties, action = kwds.action ?? null, timeout = kwds.timeout ?? null] = args;
    if (action !== null) throw new TypeError('A Barrier action cannot cross to the server: call it from the party that wait() returns 0 to');
    return [parties, timeout];
  }
  if (named) throw new TypeError(`${typeid}() takes its arguments by position here, not by keyword (${Object.keys(kwds).join(', ')})`);
  return args;
}

export class PythonServer {
  readonly #registry: Map<string, Factory>;
  readonly #limits: Limits;
  #held = new Map<string, Held>();
  #idents = new WeakMap<object, string>();
  #next = 1;
  #net: NetServer | null = null;
  #address: Address | null = null;
  #key: Uint8Array = new Uint8Array(0);
  #conns = new Set<FramedSocket>();
  #stopped!: Promise<void>;
  #stop!: () => void;

  constructor(registry: Map<string, Factory>, limits: Limits) {
    this.#registry = registry;
    this.#limits = limits;
    this.#stopped = new Promise((resolve) => { this.#stop = resolve; });
  }

  /** Resolves when a client asks the server to shut down. */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  async listen(address: Address, key: Uint8Array): Promise<Address> {
    this.#key = key;
    const { server, address: bound } = await listen(address, null, (conn) => this.#accept(conn), this.#limits.maxFrameBytes);
    this.#net = server;
    this.#address = bound;
    return bound;
  }

  async #accept(conn: FramedSocket) {
    this.#conns.add(conn);
    const who = new Caller(this.#limits);
    conn.socket.once('close', () => { this.#conns.delete(conn); who.close(); });
    try {
      await cpythonHandshake(conn, this.#key, 'server');
      conn.limit(this.#limits.maxFrameBytes);
      const [, funcname, args, kwds] = this.#request(await conn.recvBytes());
      if (funcname === 'accept_connection') {
        conn.sendBytes(this.#reply('#RETURN', null));
        for (;;) await this.#serveCall(conn, who, this.#request(await conn.recvBytes()));
      }
      conn.sendBytes(this.#reply(...this.#serverCall(funcname, args, kwds)));
    } catch {
      // A peer without the key, a request that is not CPython's, or the connection ended: this
      // connection goes, and nobody else's.
    }
    conn.close();
  }

  #request(frame: Uint8Array): [unknown, string, unknown[], Record<string, unknown>] {
    const request = loads(frame, { allow: this.#allow });
    if (!Array.isArray(request) || request.length !== 4 || typeof request[1] !== 'string') throw new PickleError('A request that is not (ident, method, args, kwds)');
    const [ident, name, args, kwds] = request;
    return [ident, name, [...(args as unknown[])], kwds instanceof Map ? Object.fromEntries(kwds) : (kwds as Record<string, unknown>) ?? {}];
  }

  // A proxy inside a value (CPython pickles it as RebuildProxy(class, token, serializer, kwds)):
  // one of this server's objects becomes the object itself, as in CPython's server.
  #allow = {
    [`${MANAGERS}.RebuildProxy`]: (args: readonly unknown[]) => {
      const token = args[1];
      const ident = token instanceof PyObject ? (token.state as unknown[])?.[2] : undefined;
      const held = typeof ident === 'string' ? this.#held.get(ident) : undefined;
      if (!held) throw new PickleError(`A proxy of an object this manager does not hold (${String(ident)})`);
      held.stored = true;
      return held.obj;
    },
    [`${MANAGERS}.Token`]: 'object' as const,
    ...PROXY_CLASSES,
  };

  #reply(kind: string, result: unknown): Uint8Array {
    try {
      return dumps(tuple(kind, result), { protocol: 4, replace: (v) => this.#proxyOf(v) });
    } catch (e) {
      return dumps(tuple('#UNSERIALIZABLE', `${(e as Error).message}\n`), { protocol: 4 });
    }
  }

  /** One of this server's objects inside a result: a proxy for the receiver, as CPython writes one. */
  #proxyOf(obj: object): PyObject | undefined {
    const ident = this.#idents.get(obj);
    if (ident === undefined) return undefined;
    const held = this.#held.get(ident)!;
    const token = new PyObject(new PyGlobal(MANAGERS, 'Token'), []);
    token.state = tuple(held.typeid, this.#addressForPython(), ident);
    // The key goes with it (to a client that has proved it already): CPython's server sends none,
    // so its nested proxies work only in processes that share the manager's key by inheritance.
    const kwds = { exposed: tuple(...exposedOf(held.typeid, obj)), authkey: this.#key };
    return new PyObject(new PyGlobal(MANAGERS, 'RebuildProxy'), [new PyGlobal(MANAGERS, 'AutoProxy'), token, 'pickle', kwds], 'reduce');
  }

  #addressForPython(): unknown {
    const a = this.#address!;
    return typeof a === 'string' ? a : tuple(a.host, a.port);
  }

  #hold(obj: object, typeid: string): string {
    let ident = this.#idents.get(obj);
    if (ident === undefined) {
      ident = (this.#next++).toString(16);
      this.#idents.set(obj, ident);
      this.#held.set(ident, { obj, typeid, refs: 0, stored: false });
    }
    this.#held.get(ident)!.refs++;
    return ident;
  }

  #serverCall(funcname: string, args: unknown[], kwds: Record<string, unknown>): [string, unknown] {
    try {
      switch (funcname) {
        case 'create': {
          const [typeid, ...given] = args as [string, ...unknown[]];
          const rest = pythonArgs(typeid, given, kwds);
          const factory = this.#registry.get(typeid);
          if (!factory) throw new PythonError(new PyGlobal('builtins', 'KeyError'), [typeid]);
          const obj = withCaller(new Caller(this.#limits), () => (isClass(factory) ? new factory(...rest) : (factory as (...a: unknown[]) => object)(...rest)));
          const ident = this.#hold(obj, typeid);
          return ['#RETURN', tuple(ident, tuple(...exposedOf(typeid, obj)))];
        }
        case 'incref': {
          const held = this.#held.get(args[0] as string);
          if (!held) throw new PythonError(new PyGlobal('builtins', 'KeyError'), [args[0]]);
          held.refs++;
          return ['#RETURN', null];
        }
        case 'decref': {
          const held = this.#held.get(args[0] as string);
          if (held && --held.refs <= 0 && !held.stored) this.#held.delete(args[0] as string);
          return ['#RETURN', null];
        }
        case 'get_methods': {
          const ident = ((args[0] as PyObject)?.state as unknown[])?.[2] as string;
          const held = this.#held.get(ident);
          return ['#RETURN', held ? tuple(...exposedOf(held.typeid, held.obj)) : null];
        }
        case 'dummy': return ['#RETURN', null];
        case 'number_of_objects': return ['#RETURN', this.#held.size];
        case 'debug_info': return ['#RETURN', `${this.#held.size} objects held\n`];
        case 'shutdown':
          setTimeout(() => this.shutdown(), 10); // after the reply has gone
          return ['#RETURN', null];
        default: return ['#TRACEBACK', `AssertionError: '${funcname}' unrecognized\n`];
      }
    } catch (e) {
      return ['#ERROR', asPythonError(e)];
    }
  }

  async #serveCall(conn: FramedSocket, who: Caller, [ident, method, args, kwds]: [unknown, string, unknown[], Record<string, unknown>]) {
    const held = typeof ident === 'string' ? this.#held.get(ident) : undefined;
    let message: [string, unknown];
    if (!held) {
      message = ['#TRACEBACK', `KeyError: ${String(ident)}: no object of this manager has that id\n`];
    } else if (method === '#GETVALUE') {
      message = this.#settled(() => valueOf(held.obj));
    } else if (method === '__str__' || method === '__repr__') {
      message = ['#RETURN', `<${held.typeid} ${ident} of an mpkit manager>`];
    } else {
      const served = SERVED[held.typeid];
      const run = served ? served[method] : exposedOf(held.typeid, held.obj).includes(method) ? (obj: object, a: unknown[]) => (obj as Record<string, (...x: unknown[]) => unknown>)[method](...a) : undefined;
      if (!run) {
        message = ['#TRACEBACK', `AttributeError: method '${method}' of ${held.typeid} object is not in exposed=${JSON.stringify(exposedOf(held.typeid, held.obj))}\n`];
      } else {
        try {
          const [given, named] = positional(held.typeid, method, args, kwds);
          const result = await withCaller(who, () => run(held.obj, given, named));
          const typeid = RETURNS_PROXY[held.typeid]?.[method] ?? (result instanceof Iteration ? 'Iterator' : undefined);
          message = typeid ? ['#PROXY', tuple(tuple(...exposedOf(typeid, result as object)), this.#token(result as object, typeid))] : ['#RETURN', result ?? null]; // a method with no result: None
        } catch (e) {
          message = ['#ERROR', asPythonError(e)];
        }
      }
    }
    if (!conn.closed) conn.sendBytes(this.#reply(...message));
  }

  #settled(fn: () => unknown): [string, unknown] {
    try { return ['#RETURN', fn()]; } catch (e) { return ['#ERROR', asPythonError(e)]; }
  }

  #token(obj: object, typeid: string): PyObject {
    const token = new PyObject(new PyGlobal(MANAGERS, 'Token'), []);
    token.state = tuple(typeid, this.#addressForPython(), this.#hold(obj, typeid));
    return token;
  }

  /** Stops listening, ends every connection, and settles `stopped`. */
  shutdown() {
    this.#net?.close();
    for (const conn of this.#conns) conn.close();
    this.#stop();
  }
}
