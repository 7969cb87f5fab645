// Queues for threads and processes alike: a ring of bytes in shared memory guarded by a Lock, with
// two futex words that count puts and gets, so a getter sleeps in the kernel until a put and a
// putter until a get. Items are msgpack (reduction.ts: dumps/loads), so mpkit objects inside them
// arrive as the same shared objects. An item too big for the ring travels in a segment of its own.
import { allocate, allocateAlone, newSegmentName, view, type Piece } from './heap.ts';
import { registerIn, trackerList } from './resource_tracker.ts';
import { futexWake, mapSegment, processEnded, unlinkSegment, type Mapping } from './platform/linux.ts';
import { REDUCE, dumps, loads, registerType, type Reduced } from './reduction.ts';
import { Lock } from './synchronize.ts';
import { LOCK_BYTES } from './synchronize/lock.ts';
import { SharedMemory } from './shared_memory.ts';
import { checkTimeout, deadline, runAsync, runBlocking, slice, spin, type Waiting } from './waiting.ts';

export class Empty extends Error {
  override name = 'Empty';
  constructor(message = 'The queue is empty') { super(message); }
}

export class Full extends Error {
  override name = 'Full';
  constructor(message = 'The queue is full') { super(message); }
}

const HEAD = 0, TAIL = 1, USED = 2, COUNT = 3, PUTS = 4, GETS = 5, GET_WAITERS = 6, PUT_WAITERS = 7;
const UNFINISHED = 8, DONE = 9, CLOSED = 10, MAXSIZE = 11, CAPACITY = 12, JOINABLE = 13;
// A JoinableQueue's takers: [pid, items it got and has not marked done] pairs from word TAKERS on,
// so that join() can tell when a process died holding items that will never be marked done.
const TAKERS = 16, TAKER_SLOTS = 32;
const WORDS = TAKERS + 2 * TAKER_SLOTS;
const DEATH_CHECK_MS = 100;
const ALL = 0x7fffffff;
const BIG = 0x80000000; // a length with this bit set names a segment holding the item
const DEFAULT_CAPACITY = 256 * 1024;
const EARLY_WAKE_BYTES = 64 * 1024; // see PUT_SOME

// owner: the tracker (resource_tracker.ts) of the thread that made the queue, and its pid. An item
// too big for the ring is put in a segment registered there, named under that pid, so it lives as
// long as the queue's maker: a producer that exits right after put() does not take it along.
interface State { header: Piece; ring: Piece; lock: Reduced; owner: { pid: number; list: string } }

/** An item as it goes into the ring: its bytes, and the length word before them (BIG: a segment's name). */
interface Entry { bytes: Uint8Array; length: number }

/**
 * Bytes in, bytes out, with no msgpack around them: for mpkit's own users of a queue whose items are
 * already encoded (manager lanes), which would otherwise pay a second encoding and a copy.
 */
export const PUT_BYTES = Symbol('putBytes'), PUT_BYTES_ASYNC = Symbol('putBytesAsync'), GET_WITH = Symbol('getWith');

/** Waits up to a given time for an item by watching the queue, not sleeping (where a second core lets the putter run meanwhile): for a side that expects one at once (manager lanes). */
export const WATCH = Symbol('watch');

const JOINED = Symbol('joined');

/** Puts items in order while they fit, never waiting; returns how many went in. For a feeder that keeps the rest (pool). */
export const PUT_SOME = Symbol('putSome');

/** A QueueOptions key: the queue's header, lock and ring in one segment of their own (heap.ts: freeSegment ends it). */
export const ALONE = Symbol('alone');

export interface QueueOptions {
  /** Bytes of the shared ring (default 256 KiB); bigger items go through a segment of their own. */
  capacity?: number;
  [ALONE]?: boolean;
}

export interface PutOptions {
  block?: boolean;
  timeout?: number | null; // seconds
}

export interface GetOptions extends PutOptions {
  /**
   * Records which item was taken, in the same step that takes it: item[0] (an item that is an array
   * starting with a number) is stored at words[index]. A pool uses it to know what a worker held if
   * that worker dies.
   */
  claim?: { words: Int32Array; index: number };
}

export class Queue<T = unknown> {
  readonly #state: State;
  readonly #w: Int32Array;
  readonly #ring: Uint8Array;
  readonly #lock: Lock;
  readonly #address: bigint; // of the header: word i is at address + 4 i
  readonly #lengthBytes = new Uint8Array(4); // an item's length word on its way in or out of the ring
  readonly #lengthWord = new DataView(this.#lengthBytes.buffer);

  constructor(maxsize: number | State = 0, { capacity = DEFAULT_CAPACITY, [ALONE]: alone = false }: QueueOptions = {}) {
    if (typeof maxsize === 'object') {
      this.#state = maxsize;
    } else {
      if (!Number.isInteger(maxsize) || maxsize < 0) throw new RangeError(`maxsize is a whole number (0 for no limit), not ${maxsize}`);
      if (!Number.isInteger(capacity) || capacity < 64) throw new RangeError(`capacity is a whole number of bytes, at least 64, not ${capacity}`);
      if (alone) {
        const [header, lock, ring] = allocateAlone([WORDS * 4, LOCK_BYTES, capacity]);
        this.#state = { header, ring, lock: new Lock(lock)[REDUCE](), owner: { pid: process.pid, list: trackerList() } };
      } else {
        this.#state = { header: allocate(WORDS * 4), ring: allocate(capacity), lock: new Lock()[REDUCE](), owner: { pid: process.pid, list: trackerList() } };
      }
    }
    const h = view(this.#state.header), r = view(this.#state.ring);
    this.#w = new Int32Array(h.buffer, h.byteOffset, WORDS);
    this.#address = h.address;
    this.#ring = new Uint8Array(r.buffer, r.byteOffset, this.#state.ring.size);
    this.#lock = new Lock(this.#state.lock.state as Piece);
    if (typeof maxsize === 'number') {
      this.#w[MAXSIZE] = maxsize;
      this.#w[CAPACITY] = this.#state.ring.size;
    }
  }

  #at(word: number): bigint { return this.#address + BigInt(word * 4); }

  // The ring wraps: copy in (or out) in at most two pieces. Most items do not wrap, and take no
  // subarray: on Bun, making a view of a view was a tenth of a manager call.
  #copyIn(bytes: Uint8Array, at: number) {
    const first = this.#ring.length - at;
    if (bytes.length <= first) return this.#ring.set(bytes, at);
    this.#ring.set(bytes.subarray(0, first), at);
    this.#ring.set(bytes.subarray(first), 0);
  }

  #copyOut(at: number, length: number): Uint8Array {
    const first = this.#ring.length - at;
    if (length <= first) return this.#ring.slice(at, at + length);
    const out = new Uint8Array(length);
    out.set(this.#ring.subarray(at));
    out.set(this.#ring.subarray(0, length - first), first);
    return out;
  }

  #lengthAt(at: number): number {
    const ring = this.#ring;
    for (let i = 0; i < 4; i++) this.#lengthBytes[i] = ring[(at + i) % ring.length];
    return this.#lengthWord.getUint32(0, true);
  }

  #record(item: T): Entry {
    return this.#entry(dumps(item, 'item'));
  }

  #entry(bytes: Uint8Array): Entry {
    if (bytes.length + 4 <= this.#ring.length / 4) return { bytes, length: bytes.length };
    const size = Math.max(1, bytes.length), { owner } = this.#state;
    let name = newSegmentName(owner.pid);
    // Registered before it exists: a putter killed in between leaves the tracker a name to skip, not a segment.
    if (registerIn(owner.list, name)) {
      const mapping = mapSegment(`/${name}`, true, size);
      new Uint8Array(mapping.buffer).set(bytes);
      mapping.unmap();
    } else { // the queue's maker has ended: this process's tracker keeps it, as long as this process lives
      const shm = new SharedMemory({ create: true, size });
      shm.buf.set(bytes);
      shm.close();
      name = shm.name;
    }
    const body = new TextEncoder().encode(`${name}/${bytes.length}`);
    return { bytes: body, length: (BIG | body.length) >>> 0 };
  }

  /** Whether the entry has room now; called with the lock held. */
  #fits({ bytes }: Entry): boolean {
    const w = this.#w, max = w[MAXSIZE];
    return (max === 0 || w[COUNT] < max) && w[USED] + 4 + bytes.length <= this.#ring.length;
  }

  /** Writes an entry that fits at the tail; called with the lock held. */
  #write({ bytes, length }: Entry) {
    const w = this.#w;
    this.#lengthWord.setUint32(0, length, true);
    this.#copyIn(this.#lengthBytes, w[TAIL]);
    this.#copyIn(bytes, (w[TAIL] + 4) % this.#ring.length);
    w[TAIL] = (w[TAIL] + 4 + bytes.length) % this.#ring.length;
    w[USED] += 4 + bytes.length;
    w[COUNT]++;
    w[UNFINISHED]++;
  }

  #wakeGetters(n: number) {
    Atomics.add(this.#w, PUTS, 1);
    if (Atomics.load(this.#w, GET_WAITERS) > 0) futexWake(this.#at(PUTS), n);
  }

  // Puts the records in order, as many as fit under one hold of the lock, and wakes getters once
  // per batch rather than once per item: a wake is a system call, and the costliest step here.
  *#put(records: Entry[], block: boolean, timeout?: number | null): Waiting<void> {
    let next = 0;
    try {
      yield* this.#putFrom(records, block, timeout, (n) => { next = n; });
    } catch (e) {
      for (const left of records.slice(next)) if (left.length >= BIG) withSegment(left.bytes, () => null); // an item not put takes its segment with it
      throw e;
    }
  }

  *#putFrom(records: Entry[], block: boolean, timeout: number | null | undefined, progress: (next: number) => void): Waiting<void> {
    checkTimeout(timeout);
    const w = this.#w, end = deadline(timeout);
    let next = 0;
    for (;;) {
      this.#lock.acquire();
      if (Atomics.load(w, CLOSED)) {
        this.#lock.release();
        throw new Error(`The queue was closed while put() waited for room: ${next ? `${next} of ${records.length} items were put, the rest were not` : 'the item was not put'}`);
      }
      const from = next;
      while (next < records.length && this.#fits(records[next])) this.#write(records[next++]);
      if (next > from) Atomics.add(w, PUTS, 1);
      const seen = w[GETS];
      this.#lock.release();
      if (next > from && Atomics.load(w, GET_WAITERS) > 0) futexWake(this.#at(PUTS), next - from);
      progress(next);
      if (next === records.length) return;
      if (!block || performance.now() >= end) throw new Full(next ? `The queue is full: ${next} of ${records.length} items were put` : undefined);
      if (spin(w, GETS, seen, end)) continue;
      Atomics.add(w, PUT_WAITERS, 1);
      try { yield { address: this.#at(GETS), expected: seen, ms: slice(end) }; } finally { Atomics.sub(w, PUT_WAITERS, 1); }
    }
  }

  /** `use`: what to make of the item's bytes (by default, decode them); `borrowed` says they go once it returns. */
  *#get(block: boolean, timeout?: number | null, claim?: GetOptions['claim'], use?: (bytes: Uint8Array, borrowed: boolean) => unknown): Waiting<T> {
    checkTimeout(timeout);
    const w = this.#w, end = deadline(timeout);
    for (;;) {
      this.#lock.acquire();
      if (w[COUNT] > 0) {
        const head = w[HEAD];
        const length = this.#lengthAt(head);
        const size = length & 0x7fffffff;
        const body = this.#copyOut((head + 4) % this.#ring.length, size);
        w[HEAD] = (head + 4 + size) % this.#ring.length;
        w[USED] -= 4 + size;
        w[COUNT]--;
        Atomics.add(w, GETS, 1);
        if (w[JOINABLE]) this.#took(1);
        let bytes = length >= BIG && claim ? fromSegment(body) : body;
        // The claim is made before the lock is let go, but only item[0] is read for it: decoding a
        // pool's chunk here would hold up every other getter and putter for milliseconds.
        let item: unknown, decoded = false;
        if (claim) {
          let first = leadingNumber(bytes);
          if (first === null) {
            item = loads(bytes);
            decoded = true;
            first = Array.isArray(item) && typeof item[0] === 'number' ? item[0] : 0;
          }
          Atomics.store(claim.words, claim.index, first);
        }
        this.#lock.release();
        if (Atomics.load(w, PUT_WAITERS) > 0) futexWake(this.#at(GETS), ALL);
        // An item in its own segment is read after the lock is let go, where it lies: no copy first.
        if (length >= BIG && !claim) return withSegment(body, (view) => (use ? use(view, true) : loads(view, true))) as T;
        return (decoded ? item : use ? use(bytes, false) : loads(bytes)) as T;
      }
      const seen = w[PUTS];
      this.#lock.release();
      if (!block || performance.now() >= end) throw new Empty();
      if (Atomics.load(w, CLOSED)) throw new Error('The queue is closed and empty: no item will come');
      if (spin(w, PUTS, seen, end)) continue;
      Atomics.add(w, GET_WAITERS, 1);
      try { yield { address: this.#at(PUTS), expected: seen, ms: slice(end) }; } finally { Atomics.sub(w, GET_WAITERS, 1); }
    }
  }

  /** Waits (by default) for room, then adds `item`; throws Full if it cannot. */
  put(item: T, { block = true, timeout }: PutOptions = {}): void {
    if (Atomics.load(this.#w, CLOSED)) throw new Error('Cannot put on a closed queue: the item was not put');
    runBlocking(this.#put([this.#record(item)], block, timeout));
  }

  /**
   * Puts every item, in order, waking the getters once per batch instead of once per item. Waits
   * for room as put() does; on Full, the items before the one that did not fit are in the queue.
   */
  putMany(items: Iterable<T>, { block = true, timeout }: PutOptions = {}): void {
    if (Atomics.load(this.#w, CLOSED)) throw new Error('Cannot put on a closed queue: the item was not put');
    runBlocking(this.#put(Array.from(items, (item) => this.#record(item)), block, timeout));
  }

  putAsync(item: T, { block = true, timeout }: PutOptions = {}): Promise<void> {
    if (Atomics.load(this.#w, CLOSED)) return Promise.reject(new Error('Cannot put on a closed queue: the item was not put'));
    return runAsync(this.#put([this.#record(item)], block, timeout));
  }

  /** Waits (by default) for an item and removes it; throws Empty if there is none. */
  get({ block = true, timeout, claim }: GetOptions = {}): T {
    return runBlocking(this.#get(block, timeout, claim));
  }

  getAsync({ block = true, timeout, claim }: GetOptions = {}): Promise<T> {
    return runAsync(this.#get(block, timeout, claim));
  }

  putNowait(item: T): void { this.put(item, { block: false }); }
  getNowait(): T { return this.get({ block: false }); }

  /** Puts bytes that the getter takes with GET_WITH, as they are; unless `block`, throws Full rather than wait. */
  [PUT_BYTES](bytes: Uint8Array, block = false): void {
    if (Atomics.load(this.#w, CLOSED)) throw new Error('Cannot put on a closed queue: the item was not put');
    runBlocking(this.#put([this.#entry(bytes)], block));
  }

  /** PUT_BYTES that waits up to `timeout` seconds for room, with the event loop running; rejects with Full after that. */
  [PUT_BYTES_ASYNC](bytes: Uint8Array, timeout: number): Promise<void> {
    if (Atomics.load(this.#w, CLOSED)) return Promise.reject(new Error('Cannot put on a closed queue: the item was not put'));
    return runAsync(this.#put([this.#entry(bytes)], true, timeout));
  }

  // Items are encoded only while the ring looks to have room for them, so few are encoded that do
  // not fit, and never under the lock. The rest go in under one hold of it, with one wake-up. But a
  // big first item (a pool's chunk, milliseconds to encode) goes in alone, so a getter starts on it
  // while the rest are encoded; small ones are not worth a second wake-up.
  [PUT_SOME](items: readonly T[]): number {
    if (Atomics.load(this.#w, CLOSED)) throw new Error('Cannot put on a closed queue: the item was not put');
    let put = 0;
    while (put < items.length) {
      const entries: Entry[] = [];
      let room = this.#ring.length - Atomics.load(this.#w, USED);
      while (put + entries.length < items.length && room > 0) {
        const entry = this.#record(items[put + entries.length]);
        entries.push(entry);
        room -= 4 + entry.bytes.length;
        if (put === 0 && entries.length === 1 && entry.bytes.length >= EARLY_WAKE_BYTES) break;
      }
      this.#lock.acquire();
      let fit = 0;
      while (fit < entries.length && this.#fits(entries[fit])) this.#write(entries[fit++]);
      this.#lock.release();
      if (fit) this.#wakeGetters(fit);
      for (const left of entries.slice(fit)) if (left.length >= BIG) withSegment(left.bytes, () => null); // its segment goes with it
      put += fit;
      if (fit < entries.length || fit === 0) break;
    }
    return put;
  }

  /**
   * Hands the bytes of the next item, undecoded, to `use` and returns what it returns; throws Empty
   * rather than wait. `borrowed`: the bytes are gone once `use` returns (keep a copy of what it needs).
   */
  [GET_WITH]<R>(use: (bytes: Uint8Array, borrowed: boolean) => R): R {
    return runBlocking(this.#get(false, undefined, undefined, use)) as unknown as R;
  }

  qsize(): number { return Atomics.load(this.#w, COUNT); }
  empty(): boolean { return this.qsize() === 0; }
  full(): boolean { const max = this.#w[MAXSIZE]; return max > 0 && this.qsize() >= max; }

  *#poll(timeout?: number | null, watchMs?: number): Waiting<boolean> {
    const w = this.#w, end = deadline(timeout);
    for (;;) {
      const seen = Atomics.load(w, PUTS);
      if (Atomics.load(w, COUNT) > 0) return true;
      if (Atomics.load(w, CLOSED) || performance.now() >= end) return false; // closed: nothing more will come
      if (spin(w, PUTS, seen, end, watchMs)) continue;
      if (performance.now() >= end) return false;
      Atomics.add(w, GET_WAITERS, 1);
      try { yield { address: this.#at(PUTS), expected: seen, ms: slice(end) }; } finally { Atomics.sub(w, GET_WAITERS, 1); }
    }
  }

  /** True once an item is waiting; false if none came within `timeout` seconds (0: do not wait) or the queue is closed. */
  poll(timeout: number | null = 0): boolean { return runBlocking(this.#poll(timeout)); }
  pollAsync(timeout: number | null = 0): Promise<boolean> { return runAsync(this.#poll(timeout)); }
  [WATCH](ms: number): boolean { return runBlocking(this.#poll(ms / 1000, ms)); }

  /**
   * No more puts, from any process; getters drain what is left, and async iteration then ends. A
   * put() waiting for room, and a get() waiting on an empty queue, end at once with an error.
   */
  close(): void {
    Atomics.store(this.#w, CLOSED, 1);
    for (const word of [PUTS, GETS, DONE]) { Atomics.add(this.#w, word, 1); futexWake(this.#at(word), ALL); }
  }

  get closed(): boolean { return Atomics.load(this.#w, CLOSED) === 1; }

  /** `for await (const item of queue)`: every item, until the queue is closed and empty. */
  async *[Symbol.asyncIterator](): AsyncGenerator<T> {
    for (;;) {
      if (await this.pollAsync(null) || this.qsize() > 0) {
        try { yield this.getNowait(); } catch (e) { if (!(e instanceof Empty)) throw e; }
      } else if (this.closed) return;
      if (this.closed && this.qsize() === 0) return;
    }
  }

  /** Counts `n` items got (or, negative, marked done) by this process; called with the lock held. */
  #took(n: number): boolean {
    const w = this.#w, pid = process.pid;
    let free = -1;
    for (let k = TAKERS; k < WORDS; k += 2) {
      if (w[k] === pid) { if (w[k + 1] + n < 0) return false; w[k + 1] += n; return true; }
      if (free < 0 && (w[k] === 0 || w[k + 1] === 0)) free = k; // unused, or a taker with nothing held
    }
    if (n < 0 || free < 0) return false; // a full table loses track of this taker (CPython tracks none)
    w[free] = pid;
    w[free + 1] = n;
    return true;
  }

  /** A process that ended holding items it got and never marked done, and how many: join() would wait for ever. */
  #deadTaker(): { pid: number; items: number } | null {
    const w = this.#w;
    for (let k = TAKERS; k < WORDS; k += 2) {
      const pid = Atomics.load(w, k), items = Atomics.load(w, k + 1);
      if (pid && items > 0 && pid !== process.pid && processEnded(pid)) return { pid, items };
    }
    return null;
  }

  /** JoinableQueue: marks one item that was got as done. */
  taskDone(): void {
    this.#lock.acquire();
    try {
      const w = this.#w;
      if (w[UNFINISHED] <= 0) throw new RangeError('taskDone() called more times than there were items');
      // Items got here, or else those of a process that died holding them (marked done for it).
      if (w[JOINABLE] && !this.#took(-1)) {
        const dead = this.#deadTaker();
        if (dead) for (let k = TAKERS; k < WORDS; k += 2) if (w[k] === dead.pid) w[k + 1]--;
      }
      if (--w[UNFINISHED] === 0) { Atomics.add(w, DONE, 1); futexWake(this.#at(DONE), ALL); }
    } finally {
      this.#lock.release();
    }
  }

  *#join(timeout?: number | null): Waiting<boolean> {
    checkTimeout(timeout);
    const end = deadline(timeout);
    for (;;) {
      const seen = Atomics.load(this.#w, DONE);
      if (Atomics.load(this.#w, UNFINISHED) === 0) return true;
      const dead = this.#deadTaker();
      if (dead) {
        throw new Error(`Process ${dead.pid} ended holding ${dead.items} item${dead.items === 1 ? '' : 's'} it got from this queue and never marked done, so join() would wait for ever: call taskDone() for ${dead.items === 1 ? 'it' : 'them'} (or put ${dead.items === 1 ? 'it' : 'them'} again) and join again`);
      }
      if (performance.now() >= end) return false;
      yield { address: this.#at(DONE), expected: seen, ms: Math.min(slice(end), DEATH_CHECK_MS) };
    }
  }

  /**
   * JoinableQueue: waits until every item put has been marked done (true), or `timeout` seconds
   * pass (false). Throws if a process that got items ended before it marked them done.
   */
  join(timeout?: number | null): boolean { return runBlocking(this.#join(timeout)); }
  joinAsync(timeout?: number | null): Promise<boolean> { return runAsync(this.#join(timeout)); }

  /** Makes this a JoinableQueue's: who got which items is kept, for join() to tell a dead taker. */
  [JOINED](): void { Atomics.store(this.#w, JOINABLE, 1); }

  [REDUCE](): Reduced { return { $mpkit: 'Queue', state: this.#state }; }
}

/** A Queue whose items are counted until taskDone(), so join() can wait for all of them. */
export class JoinableQueue<T = unknown> extends Queue<T> {
  constructor(maxsize: number = 0, options?: QueueOptions) {
    super(maxsize, options);
    this[JOINED]();
  }
}

/** A Queue with no size limit (Python's SimpleQueue). */
export class SimpleQueue<T = unknown> extends Queue<T> {
  constructor(options?: QueueOptions) { super(0, options); }
}

/**
 * item[0] of an encoded item, read without decoding the rest, when the item is a msgpack array that
 * starts with a whole number below 2^32; null otherwise (the caller then decodes it all).
 */
function leadingNumber(b: Uint8Array): number | null {
  const head = b[0];
  const at = head > 0x90 && head <= 0x9f ? 1 : head === 0xdc ? 3 : head === 0xdd ? 5 : 0; // fixarray, array 16, array 32
  if (at === 0 || b.length <= at) return null;
  const t = b[at];
  if (t <= 0x7f) return t; // positive fixint
  if (t === 0xcc) return b[at + 1];
  if (t === 0xcd) return (b[at + 1] << 8) | b[at + 2];
  if (t === 0xce) return ((b[at + 1] << 24) | (b[at + 2] << 16) | (b[at + 3] << 8) | b[at + 4]) >>> 0;
  return null;
}

/** What `use` makes of the bytes of an item that travelled in a segment of its own, which is then removed. */
function withSegment<R>(body: Uint8Array, use: (bytes: Uint8Array) => R): R {
  const [name, size] = new TextDecoder().decode(body).split('/');
  let mapping: Mapping;
  try {
    mapping = mapSegment(`/${name}`, false, 0, true);
  } catch (e) {
    throw new Error(`An item of ${size} bytes was lost: its segment "${name}" is gone (removed by another process)`, { cause: e });
  }
  try {
    // As a Buffer: msgpackr reads long strings out of one with the runtime's own decoder.
    return use(Buffer.from(mapping.buffer, 0, Number(size)));
  } finally {
    mapping.unmap();
    try { unlinkSegment(`/${name}`); } catch { /* removed already */ }
  }
}

/** A copy of the bytes of an item in a segment of its own, which is then removed. */
const fromSegment = (body: Uint8Array) => withSegment(body, (bytes) => new Uint8Array(bytes)); // a copy: a Buffer's slice() is a view

registerType('Queue', (state: State) => new Queue(state));
