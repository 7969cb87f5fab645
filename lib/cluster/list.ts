// list and dict on Redis: a Redis list and a Redis hash, with mp.Manager's proxy methods. Each
// method is one command or one Lua script, so it is atomic on the server, as a manager's method is.
import { ClusterObject, Script } from './object.ts';

const outOfRange = (i: number, length: number) => new RangeError(`Index ${i} is out of range for a list of ${length}`);

// insert(i, v) as Python's: before index i, clamped to the ends. Redis inserts only by pivot value.
const INSERT = new Script(`
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1])
if i < 0 then i = math.max(0, n + i) end
if i >= n then return redis.call('RPUSH', KEYS[1], ARGV[2]) end
if i == 0 then return redis.call('LPUSH', KEYS[1], ARGV[2]) end
local rest = redis.call('LRANGE', KEYS[1], i, -1)
redis.call('LTRIM', KEYS[1], 0, i - 1)
redis.call('RPUSH', KEYS[1], ARGV[2])
for j = 1, #rest, 1000 do redis.call('RPUSH', KEYS[1], unpack(rest, j, math.min(j + 999, #rest))) end
return n + 1`);

// pop(i): the item, or {length} when i is out of range.
const POP = new Script(`
local n = redis.call('LLEN', KEYS[1])
local i = tonumber(ARGV[1])
local at = i < 0 and n + i or i
if at < 0 or at >= n then return {n} end
if at == n - 1 then return {n, redis.call('RPOP', KEYS[1])} end
if at == 0 then return {n, redis.call('LPOP', KEYS[1])} end
local v = redis.call('LINDEX', KEYS[1], at)
local rest = redis.call('LRANGE', KEYS[1], at + 1, -1)
redis.call('LTRIM', KEYS[1], 0, at - 1)
for j = 1, #rest, 1000 do redis.call('RPUSH', KEYS[1], unpack(rest, j, math.min(j + 999, #rest))) end
return {n, v}`);

export class ClusterList<T = unknown> extends ClusterObject {
  #k = this.key();

  async append(v: T): Promise<void> { await this.r.rpush(this.#k, this.pack(v)); }
  async push(...vs: T[]): Promise<number> { return vs.length ? this.r.rpush(this.#k, ...vs.map((v, i) => this.pack(v, `items[${i}]`))) : this.r.llen(this.#k); }
  async extend(vs: Iterable<T>): Promise<void> { await this.push(...vs); }
  async insert(i: number, v: T): Promise<void> { await INSERT.run(this.r, [this.#k], [Math.trunc(i), this.pack(v)]); }

  async pop(i = -1): Promise<T> {
    const [n, v] = await POP.run<[number, Buffer?]>(this.r, [this.#k], [Math.trunc(i)]);
    if (v === undefined) throw outOfRange(i, n);
    return this.unpack(v);
  }

  async remove(v: T): Promise<void> {
    if (await this.r.lrem(this.#k, 1, this.pack(v)) === 0) throw new RangeError(`${String(v)} is not in the list`);
  }

  async index(v: T): Promise<number> {
    const at = await this.r.lpos(this.#k, this.pack(v));
    if (at === null) throw new RangeError(`${String(v)} is not in the list`);
    return at;
  }

  async count(v: T): Promise<number> { return (await this.r.lpos(this.#k, this.pack(v), 'COUNT', 0) as unknown as number[]).length; }

  async get(i: number): Promise<T> {
    const v = await this.r.lindexBuffer(this.#k, Math.trunc(i));
    if (v === null) throw outOfRange(i, await this.r.llen(this.#k));
    return this.unpack(v);
  }

  async set(i: number, v: T): Promise<void> {
    try {
      await this.r.lset(this.#k, Math.trunc(i), this.pack(v));
    } catch (e) {
      if (/index out of range|no such key/i.test((e as Error).message)) throw outOfRange(i, await this.r.llen(this.#k));
      throw e;
    }
  }

  get length(): Promise<number> { return this.r.llen(this.#k); }

  async slice(start = 0, end?: number): Promise<T[]> {
    if (end === 0) return [];
    const items = await this.r.lrangeBuffer(this.#k, start, end === undefined ? -1 : end - 1);
    return items.map((b) => this.unpack<T>(b));
  }

  toArray(): Promise<T[]> { return this.slice(); }
  async clear(): Promise<void> { await this.r.del(this.#k); }

  // Read, change and write back in one script: no other client's change falls between.
  async #rewrite(change: (items: T[]) => T[]): Promise<void> {
    for (;;) {
      const before = await this.r.lrangeBuffer(this.#k, 0, -1);
      const after = change(before.map((b) => this.unpack<T>(b))).map((v) => this.pack(v));
      // The list is replaced only if it still holds what was read (compared in the script).
      const same = await SWAP.run<number>(this.r, [this.#k], [before.length, ...before, ...after]);
      if (same) return;
    }
  }

  sort({ reverse = false } = {}): Promise<void> {
    return this.#rewrite((items) => items.sort((a, b) => ((a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0) * (reverse ? -1 : 1)));
  }

  reverse(): Promise<void> { return this.#rewrite((items) => items.reverse()); }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> { yield* await this.toArray(); }
}

// ARGV: n, then the n items read, then the items to write. Replaces only if the list is unchanged.
const SWAP = new Script(`
local n = tonumber(ARGV[1])
local now = redis.call('LRANGE', KEYS[1], 0, -1)
if #now ~= n then return 0 end
for i = 1, n do if now[i] ~= ARGV[i + 1] then return 0 end end
redis.call('DEL', KEYS[1])
for j = n + 2, #ARGV, 1000 do redis.call('RPUSH', KEYS[1], unpack(ARGV, j, math.min(j + 999, #ARGV))) end
return 1`);

