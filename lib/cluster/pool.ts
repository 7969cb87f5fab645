// A Pool whose workers are `mpkit worker` hosts anywhere that reach the same Redis. Tasks go on one
// Redis stream that the hosts read as a consumer group: each host takes only as many as it has
// free processes, so a slow host never holds up what a fast one could do (work is pulled, not
// dealt round-robin). A host that dies holding tasks stops renewing its claim on them, and after
// the lease another host takes them over (worker.ts), so a task may run twice; the pool hands its
// caller each task's result once, the first to arrive. Results come back on a stream of this
// pool's own. While tasks are out, the pool keeps a key alive that the hosts look at before they
// start one: a caller that died leaves its tasks to be dropped, not run.
import { AsyncResult, chunkStream, type Callbacks, type TaskOptions } from '../pool.ts';
import { rethrown, type RemoteErrorData } from '../remote.ts';
import { moduleURL, type Target } from '../spawn.ts';
import { checkSendable, pack, unpack } from './codec.ts';
import { token, type Link } from './link.ts';
import type { Revive } from './object.ts';
import { poolKeys, type Fields } from './streams.ts';

export interface ClusterPoolOptions {
  /** Which pool: the `--pool` the worker hosts serve (default "default"). */
  name?: string;
  /** Tasks (chunks) out at once, past which map and imap wait for results before sending more (default 256). */
  maxInFlight?: number;
  /** The module the worker hosts serve (their --module), as seen here: each target is checked to be its export before it is sent. */
  module?: string | URL;
}

/** How long (ms) the caller's alive key lasts without renewal; it is renewed every second. */
const ALIVE_MS = 60_000;
// A map's chunks: a quarter of the items per process the live hosts have, as mp.Pool's.
const CHUNKS_PER_PROCESS = 4;

interface Call { ids: Set<string>; stopped: { reason: unknown } | null; stop?(reason: unknown): void; end(): void }
interface Out { resolve(v: unknown[]): void; reject(e: Error): void; call: Call; entry?: string }

export class ClusterPool implements AsyncDisposable {
  readonly name: string;
  readonly maxInFlight: number;
  readonly #link: Link;
  readonly #revive: Revive;
  readonly #keys: ReturnType<typeof poolKeys>;
  readonly #id = token();
  readonly #out = new Map<string, Out>();
  #next = 0;
  #state: 'running' | 'closed' | 'terminated' = 'running';
  #listening: Promise<void> | null = null;
  #alive: ReturnType<typeof setInterval> | null = null;
  #room: (() => void)[] = [];
  #drained: (() => void)[] = [];
  #failure: Error | null = null;

  readonly #module: string | null;
  #exports: Promise<Record<string, unknown>> | null = null;

  constructor(link: Link, revive: Revive, { name = 'default', maxInFlight = 256, module }: ClusterPoolOptions = {}) {
    if (typeof name !== 'string' || !/^[\w.-]{1,100}$/.test(name)) throw new TypeError(`A pool's name is 1 to 100 letters, digits, '_', '.' or '-', not ${JSON.stringify(name)}`);
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1) throw new RangeError(`maxInFlight is a whole number, at least 1, not ${maxInFlight}`);
    this.#link = link;
    this.#revive = revive;
    this.name = name;
    this.maxInFlight = maxInFlight;
    this.#keys = poolKeys(link, name, this.#id);
    this.#module = module === undefined ? null : moduleURL(module);
  }

  // With a module given, a target that is not one of its exported functions is refused here,
  // rather than by every host it reaches.
  async #checkExported(target: string) {
    if (!this.#module) return;
    const exports = await (this.#exports ??= import(this.#module) as Promise<Record<string, unknown>>);
    if (typeof exports[target] !== 'function') throw new TypeError(`Target "${target}" is not exported from ${this.#module}: export it, as the worker hosts import it by name`);
  }

  /** The processes of the worker hosts serving this pool now (each host renews its entry). */
  async processes(): Promise<number> {
    const hosts = await this.#link.main.hgetall(this.#keys.hosts);
    const now = Number((await this.#link.main.time())[0]) * 1000;
    let n = 0;
    for (const v of Object.values(hosts)) {
      const h = JSON.parse(v) as { processes: number; expires: number };
      if (h.expires > now) n += h.processes;
    }
    return n;
  }

  #target(fn: Target<never[]>): string {
    const name = typeof fn === 'string' ? fn : fn?.name;
    if (typeof fn !== 'string' && typeof fn !== 'function') throw new TypeError('A cluster pool runs an exported function, or its export name as a string');
    if (!name || name === 'anonymous' || /^bound /.test(name)) throw new TypeError('The target must be a named function exported by the module the worker hosts serve (--module), or its export name as a string');
    return name;
  }

  #check() {
    if (this.#failure) throw this.#failure;
    if (this.#state !== 'running') throw new Error(`This cluster pool is ${this.#state}: make a new one`);
  }

  // One call's tasks (a map's chunks): an abort, or the call's first failure, drops them all.
  #call(signal?: AbortSignal): Call {
    const call: Call = { ids: new Set(), stopped: null, end: () => {} };
    const stop = (reason: unknown) => {
      call.stopped ??= { reason };
      this.#drop([...call.ids], reason);
    };
    call.stop = stop;
    if (signal) {
      const abort = () => stop(signal.reason);
      signal.addEventListener('abort', abort, { once: true });
      call.end = () => signal.removeEventListener('abort', abort);
      if (signal.aborted) stop(signal.reason);
    }
    return call;
  }

  // Sends one task: a chunk of items (map) or of argument lists (starmap, apply).
  async #submit(target: string, spread: boolean, inputs: unknown[], call: Call): Promise<unknown[]> {
    while (this.#out.size >= this.maxInFlight && !call.stopped) await new Promise<void>((resolve) => this.#room.push(resolve));
    if (call.stopped) throw call.stopped.reason;
    this.#check();
    const id = String(++this.#next);
    const payload = pack(inputs, spread ? 'args' : 'items');
    return new Promise<unknown[]>((resolve, reject) => {
      this.#out.set(id, { resolve, reject, call });
      call.ids.add(id);
      this.#keepAlive();
      this.#listen();
      const fields: Fields = { c: this.#id, t: id, f: target, s: spread ? '1' : '0', a: payload };
      this.#link.main.xadd(this.#keys.tasks, '*', ...Object.entries(fields).flat()).then(
        (entry) => { const out = this.#out.get(id); if (out) out.entry = entry ?? undefined; },
        (e) => this.#settle(id, null, e as Error),
      );
    });
  }

  #settle(id: string, value: unknown[] | null, error?: Error) {
    const out = this.#out.get(id);
    if (!out) return; // a second run of a task that ran twice, or one dropped
    this.#out.delete(id);
    out.call.ids.delete(id);
    if (error) out.reject(error);
    else out.resolve(value!);
    this.#room.shift()?.();
    if (this.#out.size === 0) { for (const f of this.#drained.splice(0)) f(); }
  }

  // Keeps the key the hosts look at before they start one of this pool's tasks.
  #keepAlive() {
    if (this.#alive) return;
    const renew = () => this.#link.main.set(this.#keys.alive, '1', 'PX', ALIVE_MS).catch(() => {});
    void renew();
    this.#alive = setInterval(() => { if (this.#out.size) void renew(); }, 1000);
    (this.#alive as { unref?(): void }).unref?.();
  }

  // Reads results while tasks are out; the blocked read is what keeps a waiting program alive.
  #listen() {
    if (this.#listening) return;
    this.#listening = this.#read().catch((e) => {
      const error = new Error(`Lost the results of the cluster pool "${this.name}" (${(e as Error).message}): its tasks failed; check that Redis at ${this.#link.url} is up, and make a new pool`, { cause: e });
      this.#failure = error;
      for (const id of [...this.#out.keys()]) this.#settle(id, null, error);
    }).finally(() => {
      this.#listening = null;
      if (this.#out.size && this.#state !== 'terminated' && !this.#failure) this.#listen();
    });
  }

  async #read() {
    let last = '0-0';
    while (this.#out.size && this.#state !== 'terminated') {
      const got = await this.#link.blocking((r) => r.xreadBuffer('COUNT', 1000, 'BLOCK', 1000, 'STREAMS', this.#keys.results, last));
      if (!got) continue;
      for (const [, entries] of got) {
        for (const [entry, flat] of entries) {
          last = String(entry);
          const f: Record<string, Buffer> = {};
          for (let i = 0; i < flat.length; i += 2) f[String(flat[i])] = flat[i + 1];
          const id = String(f.t), host = String(f.h);
          if (String(f.ok) === '1') this.#settle(id, unpack(f.v, this.#revive) as unknown[]);
          else this.#settle(id, null, rethrown(unpack(f.v, this.#revive) as RemoteErrorData, `a cluster pool task on worker host ${host}`));
        }
      }
      await this.#link.main.xtrim(this.#keys.results, 'MINID', nextId(last));
    }
  }

  // Tasks that will not be waited for: dropped from the stream if no host has taken them, and
  // named in the dropped set, which a host looks at before it starts one.
  #drop(ids: string[], reason: unknown) {
    const entries = ids.map((id) => this.#out.get(id)?.entry).filter((e): e is string => !!e);
    const r = this.#link.main;
    if (ids.length) {
      r.multi().sadd(this.#keys.dropped, ...ids).pexpire(this.#keys.dropped, ALIVE_MS).exec().catch(() => {});
      if (entries.length) r.xdel(this.#keys.tasks, ...entries).catch(() => {});
    }
    const error = reason instanceof Error ? reason : new Error(String(reason ?? 'The task was dropped'));
    for (const id of ids) this.#settle(id, null, error);
  }

  #chunks(items: unknown[], size: number): unknown[][] {
    const out: unknown[][] = [];
    for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
    return out;
  }

  async #chunksize(n: number, chunksize?: number): Promise<number> {
    if (chunksize !== undefined) {
      if (!Number.isInteger(chunksize) || chunksize < 1) throw new RangeError(`chunksize is a whole number, at least 1, not ${chunksize}`);
      return chunksize;
    }
    const procs = Math.max(1, await this.processes());
    return Math.max(1, Math.ceil(n / (procs * CHUNKS_PER_PROCESS)));
  }

  /** fn(...args) on a worker host. */
  apply<R>(fn: () => R, args?: [], options?: TaskOptions): Promise<Awaited<R>>;
  apply<A extends unknown[], R>(fn: ((...args: A) => R) | string, args: A, options?: TaskOptions): Promise<Awaited<R>>;
  async apply<A extends unknown[], R>(fn: ((...args: A) => R) | string, args: A = [] as unknown as A, { signal }: TaskOptions = {}): Promise<Awaited<R>> {
    this.#check();
    const target = this.#target(fn as Target<never[]>);
    checkSendable(args, 'args');
    await this.#checkExported(target);
    const call = this.#call(signal);
    try { return (await this.#submit(target, true, [args], call))[0] as Awaited<R>; } finally { call.end(); }
  }

  applyAsync<R>(fn: () => R, args?: [], options?: TaskOptions & Callbacks<Awaited<R>>): AsyncResult<Awaited<R>>;
  applyAsync<A extends unknown[], R>(fn: ((...args: A) => R) | string, args: A, options?: TaskOptions & Callbacks<Awaited<R>>): AsyncResult<Awaited<R>>;
  applyAsync<A extends unknown[], R>(fn: ((...args: A) => R) | string, args: A = [] as unknown as A, options: TaskOptions & Callbacks<Awaited<R>> = {}): AsyncResult<Awaited<R>> {
    return new AsyncResult(this.apply(fn, args, options), options);
  }

  /** fn applied to every item, in chunks pulled by the hosts; the results in order. */
  map<T, R>(fn: ((item: T) => R) | string, items: Iterable<T>, options: TaskOptions & { chunksize?: number } = {}): Promise<Awaited<R>[]> {
    return this.#map(fn as Target<never[]>, false, items, options) as Promise<Awaited<R>[]>;
  }

  starmap<A extends unknown[], R>(fn: ((...args: A) => R) | string, items: Iterable<A>, options: TaskOptions & { chunksize?: number } = {}): Promise<Awaited<R>[]> {
    return this.#map(fn as Target<never[]>, true, items, options) as Promise<Awaited<R>[]>;
  }

  mapAsync<T, R>(fn: ((item: T) => R) | string, items: Iterable<T>, options: TaskOptions & { chunksize?: number } & Callbacks<Awaited<R>[]> = {}): AsyncResult<Awaited<R>[]> {
    return new AsyncResult(this.map(fn, items, options), options);
  }

  async #map(fn: Target<never[]>, spread: boolean, items: Iterable<unknown>, { chunksize, signal }: TaskOptions & { chunksize?: number }): Promise<unknown[]> {
    this.#check();
    const target = this.#target(fn), list = [...items];
    checkSendable(list, 'items');
    await this.#checkExported(target);
    const chunks = this.#chunks(list, await this.#chunksize(list.length, chunksize));
    // The first failure rejects the map, and its other chunks are dropped.
    const call = this.#call(signal);
    try {
      const parts = await Promise.all(chunks.map((chunk) => this.#submit(target, spread, chunk, call).catch((e) => { call.stop!(e); throw e; })));
      return parts.flat();
    } finally {
      call.end();
    }
  }

  // Pulls from the input only as results are taken: a huge or endless input is never all in memory.
  async *#stream<T, R>(fn: ((item: T) => R) | string, items: Iterable<T> | AsyncIterable<T>, ordered: boolean, chunksize = 1, signal?: AbortSignal): AsyncGenerator<Awaited<R>> {
    this.#check();
    const target = this.#target(fn as Target<never[]>);
    await this.#checkExported(target);
    const call = this.#call(signal);
    try {
      yield* chunkStream<Awaited<R>>(items, {
        chunksize, inFlight: this.maxInFlight, ordered, check: checkSendable,
        submit: (chunk) => this.#submit(target, false, chunk, call),
        left: () => call.stop!(new Error('The imap was left before its end')), // a loop that breaks drops what is still out
      });
    } finally {
      call.end();
    }
  }

  imap<T, R>(fn: ((item: T) => R) | string, items: Iterable<T> | AsyncIterable<T>, { chunksize, signal }: TaskOptions & { chunksize?: number } = {}): AsyncGenerator<Awaited<R>> {
    return this.#stream(fn, items, true, chunksize, signal);
  }

  imapUnordered<T, R>(fn: ((item: T) => R) | string, items: Iterable<T> | AsyncIterable<T>, { chunksize, signal }: TaskOptions & { chunksize?: number } = {}): AsyncGenerator<Awaited<R>> {
    return this.#stream(fn, items, false, chunksize, signal);
  }

  /** No more tasks; those already given still run. */
  close(): void {
    if (this.#state === 'running') this.#state = 'closed';
  }

  /** After close(): waits until every task given has its result, then removes the pool's keys. */
  async join(): Promise<void> {
    if (this.#state === 'running') throw new Error('Cannot join a pool that is still running: close() or terminate() it first');
    if (this.#out.size) await new Promise<void>((resolve) => this.#drained.push(resolve));
    await this.#finish();
  }

  /** Stops at once: every task not finished rejects, and the hosts drop those not started. */
  async terminate(): Promise<void> {
    if (this.#state === 'terminated') return;
    this.#state = 'terminated';
    this.#drop([...this.#out.keys()], new Error('The cluster pool was terminated before this task finished'));
    await this.#finish();
  }

  async #finish() {
    this.#state = 'terminated';
    if (this.#alive) clearInterval(this.#alive);
    this.#alive = null;
    await this.#listening;
    if (!this.#link.closed) await this.#link.main.del(this.#keys.alive, this.#keys.results).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }
}

/** The stream id right after `id`: XTRIM MINID keeps entries from it on. */
function nextId(id: string): string {
  const [ms, seq] = id.split('-');
  return `${ms}-${Number(seq) + 1}`;
}
