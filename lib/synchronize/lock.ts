// Lock and RLock for threads and processes alike: a futex word in shared memory. The fast path is
// one compare-and-swap; a waiter sleeps in the kernel and burns no CPU. Unlike CPython's, a lock
// whose owner process died does not stay locked: waiters check the owner at least every 100 ms,
// and the first to notice takes the lock over, with `ownerDied` set so it can repair what it guards.
import { allocate, view, type Piece } from '../heap.ts';
import { futexWake } from '../platform/linux.ts';
import { REDUCE, registerType, type Reduced } from '../reduction.ts';
import { TimeoutError, checkTimeout, deadline, runAsync, runBlocking, slice, type Waiting } from '../waiting.ts';
import { threadId } from 'node:worker_threads';

const STATE = 0, OWNER = 1, THREAD = 2, COUNT = 3; // the words of a lock; COUNT is RLock's depth
const FREE = 0, LOCKED = 1, CONTENDED = 2;
const CHECK_OWNER_MS = 100;
const PID = process.pid, TID = threadId; // read once: the fast path should touch nothing but the words
export const LOCK_BYTES = 16;

/** Internal hooks Condition uses: the wait loop itself, and "does this thread hold it?". */
export const ATTEMPT = Symbol('attempt'), OWNED = Symbol('owned');
/** Releases fully and returns what RESTORE needs to take the lock back as it was. */
export const SAVE = Symbol('save'), RESTORE = Symbol('restore');

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as { code?: string }).code === 'EPERM'; }
}

export interface AcquireOptions {
  blocking?: boolean;
  timeout?: number | null; // seconds, as in Python
}

function words(piece: Piece): { words: Int32Array; address: bigint } {
  const v = view(piece);
  return { words: new Int32Array(v.buffer, v.byteOffset, 4), address: v.address };
}

export class Lock implements Disposable {
  readonly #piece: Piece;
  readonly #words: Int32Array;
  readonly #address: bigint;
  /** True after an acquire that took the lock over from a process that died holding it. */
  ownerDied = false;

  constructor(piece?: Piece) {
    this.#piece = piece ?? allocate(LOCK_BYTES);
    ({ words: this.#words, address: this.#address } = words(this.#piece));
  }

  #took(): true {
    this.#words[OWNER] = PID;
    this.#words[THREAD] = TID;
    return true;
  }

  // The owner died if its process is gone; the first waiter to swap its pid out wins the lock.
  #takeOverFromDead(): boolean {
    const owner = Atomics.load(this.#words, OWNER);
    if (owner <= 0 || owner === PID || alive(owner)) return false;
    if (Atomics.compareExchange(this.#words, OWNER, owner, PID) !== owner) return false;
    Atomics.store(this.#words, STATE, CONTENDED);
    this.ownerDied = true;
    return this.#took();
  }

  /** Takes the lock; with `blocking: false` or a `timeout` (seconds) it may give up and return false. */
  acquire(options?: AcquireOptions): boolean {
    if (options) checkTimeout(options.timeout); // bad input fails even when the lock is free
    // The uncontended path allocates nothing (no options object, no generator): one compare-and-swap.
    if (Atomics.compareExchange(this.#words, STATE, FREE, LOCKED) === FREE) {
      if (this.ownerDied) this.ownerDied = false;
      return this.#took();
    }
    return runBlocking(this[ATTEMPT](options?.blocking ?? true, options?.timeout));
  }

  /** The awaitable form of acquire: the event loop keeps running while it waits. */
  acquireAsync(options?: AcquireOptions): Promise<boolean> {
    return runAsync(this[ATTEMPT](options?.blocking ?? true, options?.timeout));
  }

  *[ATTEMPT](blocking: boolean, timeout?: number | null): Waiting<boolean> {
    checkTimeout(timeout);
    this.ownerDied = false;
    if (Atomics.compareExchange(this.#words, STATE, FREE, LOCKED) === FREE) return this.#took();
    if (!blocking) return false;
    const end = deadline(timeout);
    for (;;) {
      if (Atomics.exchange(this.#words, STATE, CONTENDED) === FREE) return this.#took();
      if (performance.now() >= end) return false;
      const timedOut = yield { address: this.#address, expected: CONTENDED, ms: slice(end, CHECK_OWNER_MS) };
      if (timedOut && this.#takeOverFromDead()) return true;
    }
  }

  release(): void {
    if (Atomics.load(this.#words, STATE) === FREE) throw new Error('Cannot release an unlocked lock');
    this.#words[OWNER] = 0;
    this.#words[THREAD] = 0;
    if (Atomics.exchange(this.#words, STATE, FREE) === CONTENDED) futexWake(this.#address, 1);
  }

  locked(): boolean {
    return Atomics.load(this.#words, STATE) !== FREE;
  }

  [OWNED](): boolean {
    return this.locked() && this.#words[OWNER] === PID && this.#words[THREAD] === TID;
  }

  [SAVE](): number {
    this.release();
    return 1;
  }

  *[RESTORE](_depth: number): Waiting<void> {
    yield* this[ATTEMPT](true);
  }

  /** `using _ = lock.hold()` is Python's `with lock:`. */
  hold(options?: AcquireOptions): Disposable {
    if (!this.acquire(options)) throw new TimeoutError('Timed out waiting for the lock');
    return { [Symbol.dispose]: () => this.release() };
  }

  [Symbol.dispose]() {
    this.release();
  }

  [REDUCE](): Reduced {
    return { $mpkit: 'Lock', state: this.#piece };
  }
}

/**
 * A lock the same thread may take again; it is free once released as many times as acquired.
 * Only its owner (this process and thread) may release it. Value and Array are guarded by one.
 */
export class RLock implements Disposable {
  readonly #piece: Piece;
  readonly #lock: Lock;
  readonly #words: Int32Array;

  constructor(piece?: Piece) {
    this.#piece = piece ?? allocate(LOCK_BYTES);
    this.#lock = new Lock(this.#piece);
    this.#words = words(this.#piece).words;
  }

  /** True after an acquire that took the lock over from a process that died holding it. */
  get ownerDied(): boolean {
    return this.#lock.ownerDied;
  }

  acquire(options?: AcquireOptions): boolean {
    if (this.#words[OWNER] === PID && this.#words[THREAD] === TID && this.#words[COUNT] > 0) {
      this.#words[COUNT]++;
      return true;
    }
    if (!this.#lock.acquire(options)) return false;
    this.#words[COUNT] = 1;
    return true;
  }

  acquireAsync(options?: AcquireOptions): Promise<boolean> {
    return runAsync(this[ATTEMPT](options?.blocking ?? true, options?.timeout));
  }

  release(): void {
    if (!this[OWNED]()) throw new Error('Cannot release an RLock this thread does not hold');
    if (--this.#words[COUNT] === 0) this.#lock.release();
  }

  locked(): boolean {
    return this.#lock.locked();
  }

  [OWNED](): boolean {
    return this.#lock[OWNED]() && this.#words[COUNT] > 0;
  }

  *[ATTEMPT](blocking: boolean, timeout?: number | null): Waiting<boolean> {
    if (this[OWNED]()) return this.acquire();
    if (!(yield* this.#lock[ATTEMPT](blocking, timeout))) return false;
    this.#words[COUNT] = 1;
    return true;
  }

  [SAVE](): number {
    const depth = this.#words[COUNT];
    this.#words[COUNT] = 0;
    this.#lock.release();
    return depth;
  }

  *[RESTORE](depth: number): Waiting<void> {
    yield* this.#lock[ATTEMPT](true);
    this.#words[COUNT] = depth;
  }

  hold(options?: AcquireOptions): Disposable {
    if (!this.acquire(options)) throw new TimeoutError('Timed out waiting for the lock');
    return { [Symbol.dispose]: () => this.release() };
  }

  [Symbol.dispose]() {
    this.release();
  }

  [REDUCE](): Reduced {
    return { $mpkit: 'RLock', state: this.#piece };
  }
}

registerType('Lock', (piece: Piece) => new Lock(piece));
registerType('RLock', (piece: Piece) => new RLock(piece));
