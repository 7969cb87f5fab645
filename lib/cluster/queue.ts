// Queue and JoinableQueue on Redis: the items are a Redis list; get() is BLPOP on a connection of
// its own, so a blocked get on one host is woken by a put on any other. A bounded queue's put()
// waits on a second list that each get() drops a token into.
// Delivery: an item is removed by the get() that receives it; if the connection is lost between
// Redis removing it and the reply arriving, that one item is lost (Redis lists have no receipts).
import { Empty, Full } from '../queues.ts';
import { checkTimeout, deadline } from '../waiting.ts';
import { ClusterObject, Script, type Revive } from './object.ts';
import type { Link } from './link.ts';
import { waitFor } from './wait.ts';

export interface ClusterPut { block?: boolean; timeout?: number | null; signal?: AbortSignal }

// A blocking command sleeps at most this long (seconds) before the wait looks at its deadline and
// the queue again: so a token lost with a crashed getter costs a putter this much, never more.
const SLICE_S = 1;

// RPUSH if there is room (ARGV[1]: maxsize, 0 for none); 0 if full. KEYS[2]: the unfinished count.
const PUT = new Script(`
local max = tonumber(ARGV[1])
if max > 0 and redis.call('LLEN', KEYS[1]) >= max then return 0 end
redis.call('RPUSH', KEYS[1], ARGV[2])
if KEYS[2] then redis.call('INCR', KEYS[2]) end
return 1`);

// After a get from a bounded queue: one token for a waiting put, never more tokens than room.
const ROOM = new Script(`redis.call('RPUSH', KEYS[1], '1') redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1) return 1`);

const DONE = new Script(`
local n = redis.call('DECR', KEYS[1])
if n < 0 then redis.call('SET', KEYS[1], '0') return -1 end
if n == 0 then redis.call('PUBLISH', KEYS[1], '0') end
return n`);

export class ClusterQueue<T = unknown> extends ClusterObject {
  readonly maxsize: number;
  #items = this.key();
  #room = this.key('room');
  protected unfinished: string | null = null;

  constructor(link: Link, revive: Revive, name: string, maxsize = 0, kind = 'Queue') {
    super(link, revive, kind, name, [maxsize]);
    if (!Number.isInteger(maxsize) || maxsize < 0) throw new RangeError(`maxsize is a whole number, 0 for no bound, not ${maxsize}`);
    this.maxsize = maxsize;
  }

  async put(item: T, { block = true, timeout = null, signal }: ClusterPut = {}): Promise<void> {
    checkTimeout(timeout);
    const bytes = this.pack(item, 'item');
    const keys = this.unfinished ? [this.#items, this.unfinished] : [this.#items];
    const end = deadline(block ? timeout : 0);
    for (;;) {
      if (await PUT.run<number>(this.r, keys, [this.maxsize, bytes])) return;
      const left = (end - performance.now()) / 1000;
      if (left <= 0) throw new Full(`The cluster queue "${this.name}" is full (maxsize ${this.maxsize})`);
      await this.link.blocking((r) => r.blpop(this.#room, Math.max(0.01, Math.min(left, SLICE_S))), signal);
    }
  }

  async get({ block = true, timeout = null, signal }: ClusterPut = {}): Promise<T> {
    checkTimeout(timeout);
    const end = deadline(block ? timeout : 0);
    for (;;) {
      const left = (end - performance.now()) / 1000;
      const got = left <= 0
        ? await this.r.lpopBuffer(this.#items)
        : (await this.link.blocking((r) => r.blpopBuffer(this.#items, Math.max(0.01, Math.min(left, SLICE_S))), signal))?.[1] ?? null;
      if (got !== null) {
        if (this.maxsize) await ROOM.run(this.r, [this.#room], [this.maxsize]);
        return this.unpack<T>(got);
      }
      if (end - performance.now() <= 0) throw new Empty(`The cluster queue "${this.name}" is empty`);
    }
  }

  putNowait(item: T): Promise<void> { return this.put(item, { block: false }); }
  getNowait(): Promise<T> { return this.get({ block: false }); }
  qsize(): Promise<number> { return this.r.llen(this.#items); }
  async empty(): Promise<boolean> { return (await this.qsize()) === 0; }
  async full(): Promise<boolean> { return this.maxsize > 0 && (await this.qsize()) >= this.maxsize; }

  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) yield await this.get();
  }
}

/** A Queue that counts the items put and not yet marked done, for join(). */
export class ClusterJoinableQueue<T = unknown> extends ClusterQueue<T> {
  constructor(link: Link, revive: Revive, name: string, maxsize = 0) {
    super(link, revive, name, maxsize, 'JoinableQueue');
    this.unfinished = this.key('unfinished');
  }

  async taskDone(): Promise<void> {
    if (await DONE.run<number>(this.r, [this.unfinished!]) < 0) throw new RangeError('taskDone() was called more times than there were items put');
  }

  /** Waits until every item put has been marked done (seconds; resolves false at the timeout). */
  join(timeout: number | null = null, { signal }: { signal?: AbortSignal } = {}): Promise<boolean> {
    return waitFor(this.link, this.unfinished!, async () => Number(await this.r.get(this.unfinished!) ?? 0) <= 0, timeout, signal);
  }
}
