// Lock and Semaphore across hosts, as leases. A holder's lease lasts `lease` seconds and is renewed
// while it holds (every third of that), so only a holder that dies, or stalls for a whole lease
// (a frozen event loop, a cut network), loses it; then another may take it. Two holders at once is
// therefore possible in that one case, and cannot be ruled out by any lock service (the old holder
// does not know it stalled), so every acquire returns a fencing number, one higher each time: a
// resource that refuses a number lower than the highest it has seen turns the stale holder away.
// Holders are a sorted set (token → when its lease ends, in the server's clock); the number is
// INCR of a counter; release() pushes a token to a list that waiting acquires BLPOP on.
import { TimeoutError, checkTimeout, deadline } from '../waiting.ts';
import { ClusterObject, Script, type Revive } from './object.ts';
import { token, type Link } from './link.ts';

/** The lease ran out before release() (the holder stalled, or was cut off): another may have held it since. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

export interface LeaseOptions {
  /** Seconds a holder keeps the lease without renewing it (default 10): how long a dead holder blocks the others. */
  lease?: number;
}

export interface ClusterAcquire { blocking?: boolean; timeout?: number | null; signal?: AbortSignal }

const NOW = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;

// KEYS: holders, fence. ARGV: token, capacity, lease ms. {fence} when taken, else {0, ms until the first lease ends}.
const ACQUIRE = new Script(`${NOW}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
  return {redis.call('INCR', KEYS[2])}
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return {0, tonumber(first[2]) - now}`);

// KEYS: holders, wake. ARGV: token, capacity. 1 if the token held a live lease, else 0.
const RELEASE = new Script(`${NOW}
local until_ = redis.call('ZSCORE', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('RPUSH', KEYS[2], '1')
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
if until_ and tonumber(until_) > now then return 1 end
return 0`);

// KEYS: holders. ARGV: token, lease ms. 1 if renewed, 0 if the lease had already run out.
const RENEW = new Script(`${NOW}
local until_ = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not until_ or tonumber(until_) <= now then redis.call('ZREM', KEYS[1], ARGV[1]) return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
return 1`);

const HELD = new Script(`${NOW} redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now) return redis.call('ZCARD', KEYS[1])`);

/** One acquire's lease: its fencing number, and a signal that aborts if the lease is lost. */
export class Lease implements AsyncDisposable {
  readonly fence: number;
  readonly #controller = new AbortController();
  readonly #release: (lease: Lease) => Promise<void>;
  constructor(fence: number, release: (lease: Lease) => Promise<void>) {
    this.fence = fence;
    this.#release = release;
  }

  /** Aborts when the lease is lost: pass it to the work done under the lock. */
  get signal(): AbortSignal { return this.#controller.signal; }
  lose(why: Error): void { this.#controller.abort(why); }
  [Symbol.asyncDispose](): Promise<void> { return this.#release(this); }
}

interface Held { token: string; lease: Lease; timer: ReturnType<typeof setInterval> }

export class ClusterSemaphore extends ClusterObject {
  readonly capacity: number;
  readonly lease: number;
  #holders = this.key();
  #fence = this.key('fence');
  #wake = this.key('wake');
  #held: Held[] = []; // this handle's leases, last taken last

  constructor(link: Link, revive: Revive, name: string, value = 1, { lease = 10 }: LeaseOptions = {}, kind = 'Semaphore') {
    super(link, revive, kind, name, [value, { lease }]);
    if (!Number.isInteger(value) || value < 1) throw new RangeError(`A cluster ${kind}'s value is a whole number, at least 1, not ${value}`);
    if (typeof lease !== 'number' || !(lease >= 0.1)) throw new RangeError(`A lease is a number of seconds, at least 0.1, not ${lease}`);
    this.capacity = value;
    this.lease = lease;
  }

  /** Resolves with the lease's fencing number (1, 2, ...: always truthy), or false at the timeout. */
  async acquire({ blocking = true, timeout = null, signal }: ClusterAcquire = {}): Promise<number | false> {
    const lease = await this.#take(blocking ? timeout : 0, signal);
    return lease ? lease.fence : false;
  }

  /** `await using held = await lock.hold()`: Python's `with lock:`; `held.fence`, `held.signal`. */
  async hold(options: Omit<ClusterAcquire, 'blocking'> = {}): Promise<Lease> {
    const lease = await this.#take(options.timeout ?? null, options.signal);
    if (!lease) throw new TimeoutError(`Timed out waiting for the cluster ${this.constructor.name === 'ClusterLock' ? 'lock' : 'semaphore'} "${this.name}"`);
    return lease;
  }

  async #take(timeout: number | null, signal?: AbortSignal): Promise<Lease | null> {
    checkTimeout(timeout);
    const me = token(), ms = Math.round(this.lease * 1000);
    const end = deadline(timeout);
    for (;;) {
      signal?.throwIfAborted();
      const [fence, wait] = await ACQUIRE.run<number[]>(this.r, [this.#holders, this.#fence], [me, this.capacity, ms]);
      if (fence) return this.#keep(me, fence);
      const left = end - performance.now();
      if (left <= 0) return null;
      // Woken by a release, or when the first lease would end, whichever is first.
      const s = Math.max(0.01, Math.min(left, wait + 5, 1000) / 1000);
      await this.link.blocking((r) => r.blpop(this.#wake, s), signal);
    }
  }

  #keep(me: string, fence: number): Lease {
    const lease = new Lease(fence, (l) => this.#releaseLease(l));
    const renew = async () => {
      try {
        if (!await RENEW.run<number>(this.r, [this.#holders], [me, Math.round(this.lease * 1000)])) held.lease.lose(this.#lost(fence));
      } catch { /* the next renewal tries again; a lease lost meanwhile is found then */ }
    };
    const held: Held = { token: me, lease, timer: setInterval(renew, (this.lease * 1000) / 3) };
    // Renewal never keeps a program alive by itself: one that ends releases nothing, and its
    // lease then runs out, as a dead holder's does.
    (held.timer as { unref?(): void }).unref?.();
    this.#held.push(held);
    return lease;
  }

  #lost(fence: number) {
    return new LeaseLostError(`The lease on the cluster ${this.constructor.name === 'ClusterLock' ? 'lock' : 'semaphore'} "${this.name}" (fence ${fence}) ran out before release: another holder may have run alongside; fence what it guards with the number`);
  }

  /** Gives back this handle's last lease; a LeaseLostError if it had run out meanwhile. */
  async release(): Promise<void> {
    const held = this.#held.at(-1);
    if (!held) throw new Error(`release() of the cluster ${this.constructor.name === 'ClusterLock' ? 'lock' : 'semaphore'} "${this.name}" by a handle that holds no lease of it`);
    await this.#releaseLease(held.lease);
  }

  async #releaseLease(lease: Lease): Promise<void> {
    const at = this.#held.findIndex((h) => h.lease === lease);
    if (at < 0) return; // already given back
    const [held] = this.#held.splice(at, 1);
    clearInterval(held.timer);
    const live = await RELEASE.run<number>(this.r, [this.#holders, this.#wake], [held.token, this.capacity]);
    if (!live) {
      const e = this.#lost(lease.fence);
      lease.lose(e);
      throw e;
    }
  }

  /** How many more could acquire now. */
  async getValue(): Promise<number> { return this.capacity - await HELD.run<number>(this.r, [this.#holders]); }
}

/** A Semaphore of one: a mutual-exclusion lease. */
export class ClusterLock extends ClusterSemaphore {
  constructor(link: Link, revive: Revive, name: string, options: LeaseOptions = {}) {
    super(link, revive, name, 1, options, 'Lock');
  }

  async locked(): Promise<boolean> { return (await this.getValue()) === 0; }
}
