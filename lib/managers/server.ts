// The manager's server: it holds the shared objects, answers each client's requests in the order
// they arrive, and counts references so an object is freed when its last proxy is gone (or, if it
// was ever stored inside another, when no object a proxy names can reach it: reachable.ts). A
// request that cannot be decoded closes that client's connection and nobody else's.
import type { Server as NetServer } from 'node:net';
import { listen, type Address, type SocketConnection } from '../connection.ts';
import { Caller, withCaller } from './caller.ts';
import { Ref, decode, encode, type RefHandlers, type Reply } from './wire.ts';
import { errorData } from '../remote.ts';
import { LaneHub } from './lanes.ts';
import { unreachable } from './reachable.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- factories take whatever the proxy's create passes
export type Factory = ((...args: any[]) => object) | (new (...args: any[]) => object);

// refs: the proxies that name it. stored: it came in inside a request, so some object may hold it.
interface Held { obj: object; typeid: string; refs: number; stored: boolean }

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
  #clients = new Set<SocketConnection>();
  #hub = new LaneHub();
  #candidates = new Set<number>(); // stored objects no proxy names: freed once unreachable
  #pending = new Set<unknown[]>(); // the operands of calls still running, which hold what they were given
  #sweep: ReturnType<typeof setTimeout> | null = null;
  #nextSweep = 0;
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
      return new Ref(id, held.typeid);
    },
  };

  /** `walkable`: the typeids whose objects keep what they hold in fields a walk can see (reachable.ts). */
  constructor(registry: Map<string, Factory>, walkable: ReadonlySet<string>) {
    this.registry = registry;
    this.#walkable = walkable;
    this.#stopped = new Promise((resolve) => { this.#stop = resolve; });
  }

  async listen(address: Address, key: Uint8Array): Promise<Address> {
    const { server, address: bound } = await listen(address, key, (conn) => this.#serve(conn));
    this.#net = server;
    return bound;
  }

  /** Resolves when a client asks the server to shut down. */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  #hold(obj: object, typeid: string): object {
    const id = this.#next++;
    this.#held.set(id, { obj, typeid, refs: 0, stored: false });
    this.#ids.set(obj, id);
    return obj;
  }

  #serve(conn: SocketConnection) {
    const who = new Caller();
    this.#clients.add(conn);
    let lane: ReturnType<LaneHub['open']> | null = null;
    // A result structured clone would refuse (a function a method of your own type returned) goes back as the error that says so.
    const bytes = (message: Reply) => {
      try { return encode(message, this.#refs, 'the result'); } catch (e) {
        if (message[1] !== '#RETURN') throw e;
        return encode([message[0], '#ERROR', errorData(e)], this.#refs);
      }
    };
    const bySocket = (message: Reply) => { if (!conn.closed) conn.sendBytes(bytes(message)); };
    const byLane = (message: Reply) => { if (!conn.closed) lane!.reply(bytes(message)); };
    const cutOff = () => conn.close(); // a frame that is not a request: this client does not speak the protocol
    const handle = (frame: Uint8Array, reply: (message: Reply) => void, start = 0, end = frame.length) => {
      if (conn.closed) return;
      let request: unknown;
      try { request = decode(frame, this.#refs, start, end); } catch { return cutOff(); }
      if (!Array.isArray(request) || !Number.isInteger(request[0]) || typeof request[1] !== 'string') return cutOff();
      const [seq, op, ...operands] = request as [number, string, ...unknown[]];
      if (op === 'lanes') { // a client on this machine asks for the shared-memory path (lanes.ts)
        lane ??= this.#hub.open((bytes, start, end) => handle(bytes, byLane, start, end), (f) => { if (!conn.closed) conn.sendBytes(f); });
        return reply([seq, '#RETURN', lane.offer]);
      }
      try {
        const result = withCaller(who, () => this.#run(op, operands));
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
    });
  }

  #run(op: string, operands: unknown[]): unknown {
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
      case 'incref': case 'decref': {
        const held = this.#held.get(operands[0] as number);
        if (!held) return null;
        held.refs += op === 'incref' ? 1 : -1;
        if (held.refs > 0) return null;
        if (held.stored) this.#candidates.add(operands[0] as number);
        else this.#free(operands[0] as number);
        if (this.#candidates.size) this.#scheduleSweep();
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
