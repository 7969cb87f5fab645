// dict on Redis: a hash whose fields are the keys as JSON, so 1 and "1" stay two keys, as in a
// manager's dict; values are msgpack, like every value of the cluster's.
import { ClusterObject, Script } from './object.ts';

type Key = string | number;

function field(k: unknown): string {
  if (typeof k === 'string' || (typeof k === 'number' && Number.isFinite(k))) return JSON.stringify(k);
  throw new TypeError(`A cluster dict's keys are strings or finite numbers, not ${typeof k === 'object' ? JSON.stringify(k) : String(k)}: use String() of it as the key`);
}
const keyOf = (f: string | Buffer) => JSON.parse(String(f)) as Key;

// HSETNX then HGET, as one step: the value the dict holds afterwards.
const SETDEFAULT = new Script(`redis.call('HSETNX', KEYS[1], ARGV[1], ARGV[2]) return redis.call('HGET', KEYS[1], ARGV[1])`);
// The value, then the field gone; {} when there was none.
const POP = new Script(`local v = redis.call('HGET', KEYS[1], ARGV[1]) if not v then return {} end redis.call('HDEL', KEYS[1], ARGV[1]) return {v}`);
// Some field and its value, removed: a hash keeps no order, so which one is the server's choice.
const POPITEM = new Script(`local f = redis.call('HRANDFIELD', KEYS[1]) if not f then return {} end local v = redis.call('HGET', KEYS[1], f) redis.call('HDEL', KEYS[1], f) return {f, v}`);

export class ClusterDict<V = unknown> extends ClusterObject {
  #k = this.key();

  async get(k: Key, fallback: V | null = null): Promise<V | null> {
    const v = await this.r.hgetBuffer(this.#k, field(k));
    return v === null ? fallback : this.unpack<V>(v);
  }

  async set(k: Key, v: V): Promise<void> { await this.r.hset(this.#k, field(k), this.pack(v, `dict[${JSON.stringify(k)}]`)); }
  async has(k: Key): Promise<boolean> { return (await this.r.hexists(this.#k, field(k))) === 1; }

  async delete(k: Key): Promise<void> {
    if (await this.r.hdel(this.#k, field(k)) === 0) throw new RangeError(`No key ${JSON.stringify(k)} in the dict`);
  }

  async keys(): Promise<Key[]> { return (await this.r.hkeys(this.#k)).map(keyOf); }
  async values(): Promise<V[]> { return (await this.r.hvalsBuffer(this.#k)).map((b) => this.unpack<V>(b)); }

  async items(): Promise<[Key, V][]> {
    const flat = await this.r.callBuffer('HGETALL', this.#k) as Buffer[];
    const out: [Key, V][] = [];
    for (let i = 0; i < flat.length; i += 2) out.push([keyOf(flat[i]), this.unpack<V>(flat[i + 1])]);
    return out;
  }

  entries(): Promise<[Key, V][]> { return this.items(); }

  async update(other: Record<string, V> | [Key, V][]): Promise<void> {
    const pairs = Array.isArray(other) ? other : Object.entries(other);
    if (!pairs.length) return;
    await this.r.hset(this.#k, ...pairs.flatMap(([k, v]) => [field(k), this.pack(v, `dict[${JSON.stringify(k)}]`)]));
  }

  async setdefault(k: Key, v: V): Promise<V> {
    return this.unpack<V>(await SETDEFAULT.run<Buffer>(this.r, [this.#k], [field(k), this.pack(v)]));
  }

  async pop(k: Key, ...fallback: [V?]): Promise<V> {
    const [v] = await POP.run<Buffer[]>(this.r, [this.#k], [field(k)]);
    if (v !== undefined) return this.unpack<V>(v);
    if (fallback.length) return fallback[0] as V;
    throw new RangeError(`No key ${JSON.stringify(k)} in the dict`);
  }

  async popitem(): Promise<[Key, V]> {
    const [f, v] = await POPITEM.run<Buffer[]>(this.r, [this.#k]);
    if (f === undefined) throw new RangeError('popitem(): the dict is empty');
    return [keyOf(f), this.unpack<V>(v)];
  }

  async toObject(): Promise<Record<string, V>> { return Object.fromEntries(await this.items()) as Record<string, V>; }
  copy(): Promise<Record<string, V>> { return this.toObject(); }
  async clear(): Promise<void> { await this.r.del(this.#k); }
  get length(): Promise<number> { return this.r.hlen(this.#k); }
  async *[Symbol.asyncIterator](): AsyncGenerator<Key> { yield* await this.keys(); }
}
