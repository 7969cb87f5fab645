// The manager's server: it holds the shared objects, answers each client's requests in the order
// they arrive, and counts references so an object is freed when its last proxy is gone (or, if it
// was ever stored inside another, when no object a proxy names can reach it: reachable.ts). A
// request that cannot be decoded closes that client's connection and nobody else's.
//
// References are counted per connection, so a client that goes away (killed, or its program ended
// without releasing its proxies) gives back what it held, which CPython's server never does: a
// server meant to run for weeks would otherwise keep every dead client's objects. A proxy on its
// way to another process is lent: counted on no connection until the receiver claims it, so its
// object outlives a sender that exits at once (a child returning a list it made).
import type { Server as NetServer } from 'node:net';
import { listen, type Address, type FramedSocket } from '../connection/socket.ts';
import { Caller, withCaller, type Limits } from './caller.ts';
import { Ref, decode, encode, type RefHandlers, type Reply } from './wire.ts';
import { errorData } from '../remote.ts';
import { LaneHub } from './lanes.ts';
import { unreachable } from './reachable.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- factories take whatever the proxy's create passes
export type Factory = ((...args: any[]) => object) | (new (...args: any[]) => object);

// refs: the proxies that name it (those of connections, and those lent and not yet claimed).
// stored: it came in inside a request, so some object may hold it. lent: proxies on their way to
// another process. early: claims that came before their loan (the two travel on different
// connections), each waiting to absorb the loan when it comes.
interface Held { obj: object; typeid: string; refs: number; stored: boolean; lent: number; early: number }

/** The references one connection holds: object id -> count. */
type Owned = Map<number, number>;

export const DEFAULT_LIMITS: Limits = { maxFrameBytes: 64 * 1024 * 1024, maxItems: 10_000_000 };

// A walk for unreachable objects costs a pass over everything held; after one that took t ms the
// next waits at least 10 t (and SWEEP_MIN_MS), so walks never take more than a tenth of the server.
const SWEEP_MIN_MS = 20;

const isClass = (f: Factory): f is new (...args: unknown[]) => object => /^class[\s{]/.test(Function.prototype.toString.call(f));

/** The public methods of an object: those of its class chain, not starting with "_". */
function exposedOf(obj: object): Set<string> {
  const names = new Set<string>();
  for (let p = Object.getPrototypeOf(obj); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const name of Object.getOwnPropertyNames(p)) {
      if (name !== 'constructor' && !name.startsWith('_') && typeof Object.getOwnPropertyDescriptor(p, name)?.value === 'function') names.add(name);
    }
  }
  return names;
}

export class Server {
  readonly registry: Map<string, Factory>;
  readonly #walkable: ReadonlySet<string>;
  #held = new Map<number, Held>();
  #ids = new WeakMap<object, number>();
  #exposed = new Map<string, Set<string>>();
  #next = 1;
  #net: NetServer | null = null;
  #clients = new Set<FramedSocket>();
  #hub = new LaneHub();
  #candidates = new Set<number>(); // stored objects no proxy names: freed once unreachable
  #pending = new Set<unknown[]>(); // the operands of calls still running, which hold what they were given
  #sweep: ReturnType<typeof setTimeout> | null = null;
  #nextSweep = 0;
  #owner: Owned | null = null; // the connection a reply being encoded goes to
  #counted: number[] = []; // the references that reply has counted so far
  readonly limits: Limits;
  #stopped!: Promise<void>;
  #stop!: () => void;
  readonly #refs: RefHandlers = {
    fromRef: (ref) => {
      const held = this.#held.get(ref.id);
      if (!held) throw new RangeError(`No managed object #${ref.id}: it was freed, or belongs to another manager`);
      held.stored = true;
      return held.obj;
    },
    toRef: (value) => {
      if (typeof value !== 'object' || value === null) return null;
      const id = this.#ids.get(value);
      if (id === undefined) return null;
      const held = this.#held.get(id)!;
      held.refs++; // the client's new proxy owns this count
      if (this.#owner) { this.#owner.set(id, (this.#owner.get(id) ?? 0) + 1); this.#counted.push(id); }
      return new Ref(id, held.typeid);
    },
  };

  /** `walkable`: the typeids whose objects keep what they hold in fields a walk can see (reachable.ts). */
  constructor(registry: Map<string, Factory>, walkable: ReadonlySet<string>, limits: Limits = DEFAULT_LIMITS) {
    this.registry = registry;
    this.#walkable = walkable;
    this.limits = limits;
    this.#stopped = new Promise((resolve) => { this.#stop = resolve; });
  }

  async listen(address: Address, key: Uint8Array): Promise<Address> {
    const { server, address: bound } = await listen(address, key, (conn) => this.#serve(conn), this.limits.maxFrameBytes);
    this.#net = server;
    return bound;
  }

  /** Resolves when a client asks the server to shut down. */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  #hold(obj: object, typeid: string): object {
    const id = this.#next++;
    this.#held.set(id, { obj, typeid, refs: 0, stored: false, lent: 0, early: 0 });
    this.#ids.set(obj, id);
    return obj;
  }

  #serve(conn: FramedSocket) {
    const who = new Caller(this.limits);
    const owned: Owned = new Map();
    this.#clients.add(conn);
    let lane: ReturnType<LaneHub['open']> | null = null;
    // A result structured clone would refuse (a function a method of your own type returned), or
    // one over the frame limit, goes back as the error that says so.
    const bytes = (message: Reply) => {
      this.#owner = owned;
      this.#counted.length = 0;
      try {
        const frame = encode(message, this.#refs, 'the result');
        if (frame.length <= this.limits.maxFrameBytes) return frame;
        throw new RangeError(`A reply of ${frame.length} bytes is over this manager's limit of ${this.limits.maxFrameBytes} (maxFrameBytes): ask for less at once (slice()), or start the manager with a larger maxFrameBytes`);
      } catch (e) {
        this.#giveBack(owned); // the proxies it would have made are not made
        if (message[1] !== '#RETURN') throw e;
        return encode([message[0], '#ERROR', errorData(e)], this.#refs);
      } finally {
        this.#owner = null;
      }
    };
    const bySocket = (message: Reply) => { if (conn.closed) this.#orphan(message); else conn.sendBytes(bytes(message)); };
    const byLane = (message: Reply) => { if (conn.closed) this.#orphan(message); else lane!.reply(bytes(message)); };
    const cutOff = () => conn.close(); // a frame that is not a request: this client does not speak the protocol
    const handle = (frame: Uint8Array, reply: (message: Reply) => void, start = 0, end = frame.length) => {
      if (conn.closed) return;
      let request: unknown;
      if (end - start > this.limits.maxFrameBytes) return cutOff(); // through a lane: the socket checks its own
      try { request = decode(frame, this.#refs, start, end); } catch { return cutOff(); }
      if (!Array.isArray(request) || !Number.isInteger(request[0]) || typeof request[1] !== 'string') return cutOff();
      const [seq, op, ...operands] = request as [number, string, ...unknown[]];
      if (op === 'hello') { // what a new client needs to know, and for one on this machine the shared-memory path (lanes.ts)
        if (operands[0] === true) lane ??= this.#hub.open((bytes, start, end) => handle(bytes, byLane, start, end), (f) => { if (!conn.closed) conn.sendBytes(f); }, Number(operands[1]));
        return reply([seq, '#RETURN', { pid: process.pid, limits: this.limits, lane: lane?.offer ?? null }]);
      }
      try {
        const result = withCaller(who, () => this.#run(op, operands, owned));
        if (result instanceof Promise) {
          this.#pending.add(operands);
          result.finally(() => this.#pending.delete(operands)).then((v) => reply([seq, '#RETURN', v]), (e) => reply([seq, '#ERROR', errorData(e)]));
        } else reply([seq, '#RETURN', result]);
        if (op === 'call' && this.#candidates.size) this.#scheduleSweep(); // it may have let one go
      } catch (e) {
        reply([seq, '#ERROR', errorData(e)]);
      }
      if (op === 'shutdown') this.shutdown();
    };
    conn.onFrames((frame) => handle(frame, bySocket), () => {
      this.#clients.delete(conn);
      lane?.close();
      who.close(); // its locks are released, its waits end
      for (const [id, count] of owned) this.#drop(id, count);
      owned.clear();
    });
  }

  /** A reply with nowhere to go: an object made for it that nothing names is freed. */
  #orphan([, tag, value]: Reply) {
    const id = tag === '#RETURN' && typeof value === 'object' && value !== null ? this.#ids.get(value) : undefined;
    const held = id === undefined ? undefined : this.#held.get(id);
    if (held && held.refs <= 0 && !held.stored) this.#free(id!);
  }

  /** Gives back the references a reply that will not be sent counted for its proxies. */
  #giveBack(owned: Owned) {
    for (const id of this.#counted.splice(0)) {
      const mine = owned.get(id)!;
      if (mine === 1) owned.delete(id); else owned.set(id, mine - 1);
      this.#drop(id, 1);
    }
  }

  /** `count` fewer proxies name object `id`; at none it is freed, or left to the walk if stored. */
  #drop(id: number, count: number) {
    const held = this.#held.get(id);
    if (!held) return;
    held.refs -= count;
    if (held.refs > 0) return;
    if (held.stored) this.#candidates.add(id);
    else this.#free(id);
    if (this.#candidates.size) this.#scheduleSweep();
  }

  #run(op: string, operands: unknown[], owned: Owned): unknown {
    switch (op) {
      case 'create': {
        const [typeid, args] = operands as [string, unknown[]];
        const factory = this.registry.get(typeid);
        if (!factory) throw new TypeError(`This manager has no type "${typeid}": register it on the manager class before starting it`);
        const list = Array.isArray(args) ? args : [];
        return this.#hold(isClass(factory) ? new factory(...list) : (factory as (...a: unknown[]) => object)(...list), typeid);
      }
      case 'call': {
        const [id, method, args] = operands as [number, string, unknown[]];
        const held = this.#held.get(id);
        if (!held) throw new RangeError(`No managed object #${id}: it was freed, or belongs to another manager`);
        let exposed = this.#exposed.get(held.typeid);
        if (!exposed) this.#exposed.set(held.typeid, (exposed = exposedOf(held.obj)));
        if (!exposed.has(method)) throw new TypeError(`A ${held.typeid} has no method "${method}"`);
        return (held.obj as Record<string, (...a: unknown[]) => unknown>)[method](...(Array.isArray(args) ? args : []));
      }
      case 'decref': {
        const id = operands[0] as number, mine = owned.get(id) ?? 0;
        if (mine <= 0) return null; // not this connection's to give back
        if (mine === 1) owned.delete(id); else owned.set(id, mine - 1);
        this.#drop(id, 1);
        return null;
      }
      case 'lend': { // a proxy is on its way to another process: its own reference, on no connection yet
        const held = this.#held.get(operands[0] as number);
        if (!held) return null;
        if (held.early > 0) held.early--; // its receiver claimed it already
        else { held.lent++; held.refs++; }
        return null;
      }
      case 'claim': { // a proxy arrived: the reference lent for it is this connection's now
        const id = operands[0] as number, held = this.#held.get(id);
        if (!held) return null;
        if (held.lent > 0) held.lent--;
        else { held.early++; held.refs++; }
        owned.set(id, (owned.get(id) ?? 0) + 1);
        return null;
      }
      case 'ping': // the count a client asks for is exact, whenever the next walk would have run
        if (this.#candidates.size) this.#sweepNow();
        return { pid: process.pid, objects: this.#held.size };
      case 'shutdown': return null;
      default: throw new TypeError(`Unknown request "${op}"`);
    }
  }

  #free(id: number) {
    const held = this.#held.get(id);
    if (!held) return;
    this.#held.delete(id);
    this.#ids.delete(held.obj);
    this.#candidates.delete(id);
  }

  #scheduleSweep() {
    if (this.#sweep) return;
    this.#sweep = setTimeout(() => {
      this.#sweep = null;
      const t0 = performance.now();
      this.#sweepNow();
      const took = performance.now() - t0;
      this.#nextSweep = performance.now() + Math.max(SWEEP_MIN_MS, 10 * took);
    }, Math.max(0, this.#nextSweep - performance.now()));
    this.#sweep.unref?.();
  }

  // An object of a type registered by the user may keep others where no walk can see them (private
  // fields, closures), so while any is held, stored objects stay until the server ends.
  #sweepNow() {
    for (const held of this.#held.values()) if (!this.#walkable.has(held.typeid)) return;
    for (const id of this.#candidates) if ((this.#held.get(id)?.refs ?? 0) > 0) this.#candidates.delete(id);
    const roots = [...this.#pending];
    for (const id of unreachable(this.#held, this.#candidates, roots, (v) => this.#ids.get(v))) this.#free(id);
  }

  /** Closes every connection and stops listening. */
  shutdown() {
    this.#net?.close();
    this.#hub.close();
    if (this.#sweep) clearTimeout(this.#sweep);
    // Replies already written go out before the sockets close.
    setImmediate(() => { for (const c of this.#clients) c.close(); this.#stop(); });
  }
}
