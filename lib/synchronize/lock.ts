// Lock and RLock for threads and processes alike: a futex word in shared memory that holds the
// kernel thread id of its owner (0 when free), with the top bit set while others wait. Taking a
// free lock is one compare-and-swap and releasing it another; a waiter sleeps in the kernel and
// burns no CPU. Unlike CPython's, a lock whose owner died (its process, or just its thread) does
// not stay locked: any acquire that finds it held checks the owner (blocking or not, before it
// sleeps), a waiter checks again at least every 50 ms, and the first to see the owner gone takes
// the lock over, with `ownerDied` set so it can repair what it guards.
import { allocate, view, type Piece } from '../heap.ts';
import { futexWake, kernelThreadId } from '../platform/linux.ts';
import { REDUCE, registerType, type Reduced } from '../reduction.ts';
import { checkTimeout, holding, deadline, runAsync, runBlocking, slice, spin, type Waiting } from '../waiting.ts';

const STATE = 0, COUNT = 3; // the words of a lock used; COUNT is RLock's depth
const FREE = 0, WAITERS = 1 << 31; // WAITERS is the sign bit: an Int32 word reads it as negative
const OWNER = ~WAITERS;
const CHECK_OWNER_MS = 50;
export const LOCK_BYTES = 16;

/** Internal hooks Condition uses: the wait loop itself, and "does this thread hold it?". */
export const ATTEMPT = Symbol('attempt'), OWNED = Symbol('owned');
/** Releases fully and returns what RESTORE needs to take the lock back as it was. */
export const SAVE = Symbol('save'), RESTORE = Symbol('restore');

/** kill(tid, 0) finds any live thread by its kernel id, in any process. */
function alive(tid: number): boolean {
  try { process.kill(tid, 0); return true; } catch (e) { return (e as { code?: string }).code === 'EPERM'; }
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
  readonly #me: number; // a JavaScript object lives in one thread, so its owner id is fixed
  /** True after an acquire that took the lock over from a thread or process that died holding it. */
  ownerDied = false;

  constructor(piece?: Piece) {
    this.#piece = piece ?? allocate(LOCK_BYTES);
    ({ words: this.#words, address: this.#address } = words(this.#piece));
    this.#me = kernelThreadId();
  }

  /** Takes the lock; with `blocking: false` or a `timeout` (seconds) it may give up and return false. */
  acquire(options?: AcquireOptions): boolean {
    if (options) checkTimeout(options.timeout); // bad input fails even when the lock is free
    // The uncontended path allocates nothing (no options object, no generator): one compare-and-swap.
    if (Atomics.compareExchange(this.#words, STATE, FREE, this.#me) === FREE) {
      if (this.ownerDied) this.ownerDied = false;
      return true;
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
    const w = this.#words, me = this.#me;
    if (Atomics.compareExchange(w, STATE, FREE, me) === FREE) return true;
    if (this.#takeOver()) return true;
    if (!blocking) return false;
    const end = deadline(timeout);
    for (;;) {
      const seen = Atomics.load(w, STATE);
      // Free: take it, keeping the waiters bit, since others may still sleep on the word.
      if (seen === FREE) {
        if (Atomics.compareExchange(w, STATE, FREE, me | WAITERS) === FREE) return true;
        continue;
      }
      // Held by a thread that will likely let go soon: watch before sleeping (waiting.ts: spin).
      if (!(seen & WAITERS) && spin(w, STATE, seen, end)) continue;
      if (!(seen & WAITERS) && Atomics.compareExchange(w, STATE, seen, seen | WAITERS) !== seen) continue;
      if (performance.now() >= end) return false;
      const timedOut = yield { address: this.#address, expected: seen | WAITERS, ms: slice(end, CHECK_OWNER_MS) };
      if (timedOut && this.#takeOver()) return true;
    }
  }

  /** Takes the lock from an owner that is no longer alive, if it is held by one; the first to swap in its own id wins. */
  #takeOver(): boolean {
    const owner = Atomics.load(this.#words, STATE);
    if (owner === FREE || (owner & OWNER) === this.#me || alive(owner & OWNER)) return false;
    // Waiters may still sleep on the word: keep its bit, and the next release wakes one.
    if (Atomics.compareExchange(this.#words, STATE, owner, this.#me | WAITERS) !== owner) return false;
    this.ownerDied = true;
    return true;
  }

  release(): void {
    if (Atomics.compareExchange(this.#words, STATE, this.#me, FREE) === this.#me) return;
    const was = Atomics.exchange(this.#words, STATE, FREE);
    if (was === FREE) throw new Error('Cannot release an unlocked lock');
    if (was & WAITERS) futexWake(this.#address, 1);
  }

  locked(): boolean {
    return Atomics.load(this.#words, STATE) !== FREE;
  }

  [OWNED](): boolean {
    return (Atomics.load(this.#words, STATE) & OWNER) === this.#me;
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
    return holding(this.acquire(options), () => this.release(), 'lock');
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
    if (this.#words[COUNT] > 0 && this.#lock[OWNED]()) {
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
    return holding(this.acquire(options), () => this.release(), 'lock');
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
