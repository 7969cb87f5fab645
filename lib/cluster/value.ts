// Value and Event on Redis. A Value with a number typecode is kept as Redis keeps numbers (text),
// so add() is one INCRBY or INCRBYFLOAT: atomic across hosts, as `v.value += 1` under a lock is in
// one machine's shared memory. An Event is a key and a channel that set() publishes on.
import { BIG, FLOATS, TYPES, slotWriter, type Typecode } from '../sharedctypes.ts';
import { ClusterObject, Script, type Revive } from './object.ts';
import type { Link } from './link.ts';
import { waitFor } from './wait.ts';

export class ClusterValue<T = unknown> extends ClusterObject {
  readonly typecode: string | null;
  #k = this.key();
  #write: ((v: unknown) => unknown) | null;
  #initial: string | Buffer;
  #ready: Promise<unknown> | null = null;

  constructor(link: Link, revive: Revive, name: string, typecode: string | null, initial: unknown) {
    super(link, revive, 'Value', name, [typecode, initial]);
    if (typecode !== null && !(typecode in TYPES)) throw new TypeError(`Unknown typecode "${typecode}": use one of ${Object.keys(TYPES).join(' ')}, or null for any value`);
    this.typecode = typecode;
    this.#write = typecode === null ? null : slotWriter(typecode as Typecode);
    this.#initial = this.#text(initial);
  }

  #text(v: unknown): string | Buffer {
    if (!this.#write) return this.pack(v);
    const slot = this.#write(v);
    return typeof slot === 'bigint' ? slot.toString() : String(slot);
  }

  #read(b: Buffer | null): T {
    if (b === null) throw new Error(`The cluster Value "${this.name}" is gone from Redis (deleted, or the server restarted without persistence)`);
    if (!this.#write) return this.unpack<T>(b);
    return (BIG.has(this.typecode as Typecode) ? BigInt(String(b)) : Number(String(b))) as T;
  }

  // The initial value is written once, by whichever handle on any host comes first (SET NX).
  #init(): Promise<unknown> {
    return (this.#ready ??= this.r.set(this.#k, this.#initial, 'NX').catch((e) => { this.#ready = null; throw e; }));
  }

  async get(): Promise<T> { await this.#init(); return this.#read(await this.r.getBuffer(this.#k)); }
  async set(v: T): Promise<void> { const text = this.#text(v); await this.r.set(this.#k, text); this.#ready = Promise.resolve(); }

  get value(): Promise<T> { return this.get(); }

  /** Adds `n` in one step on the server and resolves with the sum; for number typecodes. */
  async add(n: number | bigint): Promise<T> {
    if (!this.#write) throw new TypeError('add() needs a number typecode (Value("i", 0), Value("d", 0)): a Value of any type has only get() and set()');
    this.#write(n);
    await this.#init();
    if (FLOATS.has(this.typecode as Typecode)) return Number(await this.r.incrbyfloat(this.#k, Number(n))) as T;
    const sum = await ADD.run<number | Buffer>(this.r, [this.#k], [String(n)]);
    return (BIG.has(this.typecode as Typecode) ? BigInt(String(sum)) : Number(sum)) as T;
  }
}

// INCRBY, replying as text: a sum past 2^53 would lose digits as a Lua number or a JS number.
const ADD = new Script(`redis.call('INCRBY', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])`);

export class ClusterEvent extends ClusterObject {
  #k = this.key();

  async isSet(): Promise<boolean> { return (await this.r.exists(this.#k)) === 1; }
  async set(): Promise<void> { await SET.run(this.r, [this.#k]); }
  async clear(): Promise<void> { await this.r.del(this.#k); }

  /** Resolves true once the event is set, or false at the timeout (seconds). */
  wait(timeout: number | null = null, { signal }: { signal?: AbortSignal } = {}): Promise<boolean> {
    return waitFor(this.link, this.#k, () => this.isSet(), timeout, signal);
  }
}

const SET = new Script(`redis.call('SET', KEYS[1], '1') redis.call('PUBLISH', KEYS[1], '1') return 1`);
