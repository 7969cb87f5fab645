// A client of a Python manager (multiprocessing.managers.BaseManager or SyncManager in python3),
// spoken in CPython's own protocol: pickled tuples over CPython's handshake. Requests to the server
// ('create', 'incref', 'decref') each go on a connection of their own, as CPython's do; method
// calls go on connections opened with 'accept_connection', one per call in flight, so that a call
// that blocks on the server (a queue's get) holds up no other. Pickles are read by mpkit/pickle,
// which runs nothing the server sends and knows only the globals allowed here.
import { cpythonConnect } from '../connection/cpython.ts';
import { EOFError } from '../connection/errors.ts';
import { describe, type Address, type FramedSocket } from '../connection/socket.ts';
import { dumps, loads } from '../pickle.ts';
import type { AllowList } from '../pickle/allowed.ts';
import { PickleError, PyGlobal, PyObject, PythonError, tuple } from '../pickle/values.ts';
import type { Reduced } from '../reduction.ts';
import { rethrown } from '../remote.ts';
import { TimeoutError } from '../waiting.ts';
import type { CallOptions } from './client.ts';
import { ManagerGoneError } from './client.ts';
import { BaseProxy, makeProxy, type Transport } from './proxies.ts';
import { kindOf, MANAGERS, METHODS, PROXY_CLASSES, type PyCall } from './python_methods.ts';
import { Ref } from './wire.ts';

const MAX_FRAME = 64 * 2 ** 20;

/** A Python object this client holds a reference to: its server-side ident and exposed methods. */
interface Held { ident: string; typeid: string; exposed: readonly string[] | null }

export class PythonClient implements Transport {
  readonly address: Address;
  readonly key: Uint8Array;
  timeout: number | null = null;
  #idle: FramedSocket[] = [];
  #held = new Map<number, Held>();
  #next = 1;
  #closed = false;

  constructor(address: Address, key: Uint8Array) {
    this.address = address;
    this.key = key;
  }

  // --- the wire ---------------------------------------------------------------------------------

  #encode(message: unknown): Uint8Array {
    return dumps(message, { protocol: 4, replace: (v) => (v instanceof BaseProxy ? this.#rebuild(v.ref) : undefined) });
  }

  #decode(frame: Uint8Array): unknown {
    return loads(frame, { allow: this.#allow });
  }

  // What a Python manager's replies may name: its Token, the proxies inside values (RebuildProxy,
  // with the proxy class by name only), Namespace, and array.array for an Array's contents.
  #allow: AllowList = {
    [`${MANAGERS}.Token`]: 'object',
    [`${MANAGERS}.Namespace`]: 'object',
    [`${MANAGERS}.RebuildProxy`]: (args) => this.#proxyInside(args),
    ...PROXY_CLASSES,
    'array.array': (args) => fromTypecodeArray(args),
    'array._array_reconstructor': (args) => fromMachineArray(args),
  };

  /** One request and its reply on `conn`; CPython's reply is (kind, result). */
  async #exchange(conn: FramedSocket, message: unknown, what: string, timeout: number | null): Promise<unknown> {
    conn.sendBytes(this.#encode(message));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = timeout === null ? null : new Promise<never>((_, reject) => {
      timer = setTimeout(() => { conn.close(); reject(new TimeoutError(`${what} had no reply from the Python manager at ${describe(this.address)} within ${timeout} s`)); }, timeout * 1000);
    });
    try {
      const frame = await (late ? Promise.race([conn.recvBytes(), late]) : conn.recvBytes());
      const reply = this.#decode(frame);
      if (!Array.isArray(reply) || reply.length !== 2 || typeof reply[0] !== 'string') throw new PickleError(`${what}: the Python manager's reply is not a (kind, result) pair`);
      return this.#result(reply[0], reply[1], what);
    } catch (e) {
      if (e instanceof EOFError || ['ECONNRESET', 'EPIPE'].includes((e as { code?: string }).code ?? '')) throw new ManagerGoneError(`The Python manager at ${describe(this.address)} closed the connection during ${what}: is it still running?`, { cause: e });
      throw e;
    } finally {
      clearTimeout(timer);
    }
  }

  #result(kind: string, result: unknown, what: string): unknown {
    if (kind === '#RETURN') return result;
    if (kind === '#PROXY') {
      const [exposed, token] = result as [readonly string[], PyObject];
      return makeProxy(this, this.#hold(token, exposed));
    }
    if (kind === '#ERROR' && result instanceof PythonError) {
      const name = result.type.name === 'BrokenBarrierError' ? 'BrokenBarrierError' : result.type.name;
      throw rethrown({ name, message: result.args.map(String).join(', ') || name }, `the Python manager's ${what}`);
    }
    if (kind === '#TRACEBACK' || kind === '#UNSERIALIZABLE' || kind === '#ERROR') {
      throw rethrown({ name: 'RemoteError', message: String(result instanceof PythonError ? result.message : result).trim().split('\n').at(-1) ?? kind, stack: String(result) }, `the Python manager's ${what}`);
    }
    throw new PickleError(`${what}: the Python manager replied with an unknown kind ${kind}`);
  }

  /** A request to the server itself, on a connection of its own (create, incref, decref, ...). */
  async #server(funcname: string, args: unknown[] = [], kwds: Record<string, unknown> = {}): Promise<unknown> {
    if (this.#closed) throw new ManagerGoneError('This Python manager connection is closed: connect again');
    const conn = await cpythonConnect(this.address, this.key, MAX_FRAME);
    try {
      return await this.#exchange(conn, tuple(null, funcname, tuple(...args), kwds), `${funcname}()`, this.timeout);
    } finally {
      conn.close();
    }
  }

  /** An idle method connection, or a new one (accept_connection). */
  async #methodConnection(): Promise<FramedSocket> {
    for (let conn = this.#idle.pop(); conn; conn = this.#idle.pop()) {
      if (!conn.closed) { conn.socket.ref(); return conn; }
    }
    const conn = await cpythonConnect(this.address, this.key, MAX_FRAME);
    await this.#exchange(conn, tuple(null, 'accept_connection', tuple('mpkit'), {}), 'accept_connection()', this.timeout);
    return conn;
  }

  // --- references -------------------------------------------------------------------------------

  /** Holds a reference; the proxy's kind is its typeid's, or, for a typeid registered in Python, the one its methods show. */
  #hold(token: PyObject, exposed: readonly string[] | null): Ref {
    const [typeid, , ident] = token.state as [string, unknown, string];
    const id = this.#next++;
    const kind = typeid in METHODS ? typeid : kindOf(exposed) ?? typeid;
    this.#held.set(id, { ident, typeid: kind, exposed });
    return new Ref(id, kind);
  }

  /** RebuildProxy(cls, token, serializer, kwds) inside a value: a proxy of ours, holding its own reference. */
  #proxyInside(args: readonly unknown[]): BaseProxy {
    const token = args[1];
    if (!(token instanceof PyObject)) throw new PickleError('RebuildProxy without a Token');
    const ref = this.#hold(token, null);
    this.#server('incref', [this.#held.get(ref.id)!.ident]).catch(() => { /* the server went away: calls will say so */ });
    return makeProxy(this, ref);
  }

  /** How one of our proxies is written into a value: as Python writes its own, which the server turns back into the object. */
  #rebuild(ref: Ref): PyObject {
    const held = this.#held.get(ref.id);
    if (!held) throw new PickleError(`${ref.typeid} proxy #${ref.id} belongs to another manager`);
    const address = typeof this.address === 'string' ? this.address : tuple(this.address.host, this.address.port);
    const token = new PyObject(new PyGlobal(MANAGERS, 'Token'), []);
    token.state = tuple(held.typeid, address, held.ident);
    // With its methods and the key, a proxy rebuilt in a process of the manager's needs not ask for either.
    const kwds = { authkey: this.key, ...(held.exposed ? { exposed: tuple(...held.exposed) } : {}) };
    return new PyObject(new PyGlobal(MANAGERS, 'RebuildProxy'), [new PyGlobal(MANAGERS, 'AutoProxy'), token, 'pickle', kwds], 'reduce');
  }

  // --- what the manager and its proxies call ----------------------------------------------------

  /** Checks that the server is there and takes this key (CPython's dummy request). */
  async ping(): Promise<void> {
    await this.#server('dummy');
  }

  async create(typeid: string, args: unknown[], kwds: Record<string, unknown> = {}): Promise<BaseProxy> {
    const [ident, exposed] = await this.#server('create', [typeid, ...args], kwds) as [string, readonly string[]];
    const token = new PyObject(new PyGlobal(MANAGERS, 'Token'), []);
    token.state = tuple(typeid, null, ident);
    return makeProxy(this, this.#hold(token, exposed));
  }

  async numberOfObjects(): Promise<number> {
    return await this.#server('number_of_objects') as number;
  }

  async shutdown(): Promise<void> {
    await this.#server('shutdown').catch(() => { /* it is going, or gone */ });
    this.close();
  }

  async call(ref: Ref, method: string, args: unknown[], options: CallOptions): Promise<unknown> {
    const held = this.#held.get(ref.id);
    if (!held) throw new ManagerGoneError(`${ref.typeid} proxy #${ref.id} was released`);
    const translate = METHODS[held.typeid]?.[method];
    const py: PyCall = (name, pyArgs = [], kwds = {}) => this.#method(held, name, pyArgs, kwds, options);
    if (translate) return translate(py, ...args);
    // A type registered in Python: its exposed methods, called by name with the arguments given.
    return py(method, args);
  }

  async #method(held: Held, name: string, args: unknown[], kwds: Record<string, unknown>, options: CallOptions): Promise<unknown> {
    if (held.exposed && !held.exposed.includes(name) && !name.startsWith('#')) {
      throw new TypeError(`The Python ${held.typeid} proxy does not expose ${name}(): it offers ${held.exposed.join(', ')}`);
    }
    const conn = await this.#methodConnection();
    const result = await this.#exchange(conn, tuple(held.ident, name, tuple(...args), kwds), options.what ?? `${held.typeid}.${name}()`, options.timeout ?? null);
    // An idle connection keeps no program alive; one with a call on it does, until its reply.
    if (!conn.closed && !this.#closed) { conn.socket.unref(); this.#idle.push(conn); } else conn.close();
    return result;
  }

  release(ref: Ref): void {
    const held = this.#held.get(ref.id);
    if (!held || this.#closed) return;
    this.#held.delete(ref.id);
    this.#server('decref', [held.ident]).catch(() => { /* the server went away, and the object with it */ });
  }

  reduce(ref: Ref): Reduced {
    throw new TypeError(`A proxy of a Python manager (${ref.typeid}) cannot be sent to another process or thread: connect to the manager there`);
  }

  close(): void {
    this.#closed = true;
    for (const conn of this.#idle.splice(0)) conn.close();
  }
}

// array._array_reconstructor(cls, typecode, machine format, bytes): how Python pickles array.array.
const MACHINE: Record<number, [bytes: number, read: (v: DataView, at: number, le: boolean) => number | bigint]> = {
  0: [1, (v, at) => v.getUint8(at)], 1: [1, (v, at) => v.getInt8(at)],
  2: [2, (v, at, le) => v.getUint16(at, le)], 4: [2, (v, at, le) => v.getInt16(at, le)],
  6: [4, (v, at, le) => v.getUint32(at, le)], 8: [4, (v, at, le) => v.getInt32(at, le)],
  10: [8, (v, at, le) => v.getBigUint64(at, le)], 12: [8, (v, at, le) => v.getBigInt64(at, le)],
  14: [4, (v, at, le) => v.getFloat32(at, le)], 16: [8, (v, at, le) => v.getFloat64(at, le)],
};

// array.array(typecode, items): the items a list, or (as a manager's server writes them) the machine's own bytes.
const TYPECODES: Record<string, number> = { b: 1, B: 0, h: 4, H: 2, i: 8, I: 6, l: 12, L: 10, q: 12, Q: 10, f: 14, d: 16 };

function fromTypecodeArray(args: readonly unknown[]): unknown[] {
  const [typecode, items = []] = args;
  if (Array.isArray(items)) return [...items];
  if (typeof typecode === 'string' && typecode in TYPECODES) return fromMachineArray([null, typecode, TYPECODES[typecode], items]);
  throw new PickleError(`array.array of typecode ${String(typecode)}, which is not read here`);
}

function fromMachineArray(args: readonly unknown[]): unknown[] {
  const [, , format, bytes] = args;
  if (typeof format !== 'number' || !(bytes instanceof Uint8Array)) throw new PickleError('array._array_reconstructor with arguments it does not take');
  // 0 and 1 are single bytes; from 2 on, an even format is little-endian and the next odd one its big-endian twin.
  const little = format < 2 || format % 2 === 0, [size, read] = MACHINE[format < 2 || little ? format : format - 1] ?? [];
  if (!size || !read || bytes.length % size) throw new PickleError(`array._array_reconstructor with machine format ${format}, which is not read here`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), out: unknown[] = [];
  for (let at = 0; at < bytes.length; at += size) {
    const v = read(view, at, little);
    out.push(typeof v === 'bigint' && v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
  }
  return out;
}
