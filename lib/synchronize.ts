// Locks that work between threads and between processes: a futex word in shared memory. The fast
// path is one compare-and-swap; a waiter sleeps in the kernel and burns no CPU. Unlike CPython's,
// a lock whose owner process died does not stay locked: waiters check the owner every 100 ms and
// the first to notice takes the lock over, with `ownerDied` set so it can repair what it guards.
import { allocate, view, type Piece } from './heap.ts';
import { futexWait, futexWaitAsync, futexWake } from './platform/linux.ts';
import { REDUCE, registerType, type Reduced } from './reduction.ts';
import { threadId } from 'node:worker_threads';

const STATE = 0, OWNER = 1, THREAD = 2; // words of a lock (the fourth is spare)
const FREE = 0, LOCKED = 1, CONTENDED = 2;
const CHECK_OWNER_MS = 100;
export const LOCK_BYTES = 16;

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as { code?: string }).code === 'EPERM'; }
}

/** Converts a Python-style timeout in seconds (undefined or negative: forever) to a deadline. */
function deadline(timeout?: number | null): number {
  return timeout == null || timeout < 0 ? Infinity : performance.now() + timeout * 1000;
}

export interface AcquireOptions {
  blocking?: boolean;
  timeout?: number | null; // seconds, as in Python
}

export class Lock implements Disposable {
  readonly #piece: Piece;
  readonly #words: Int32Array;
  readonly #address: bigint;
  /** True after an acquire that took the lock over from a process that died holding it. */
  ownerDied = false;

  constructor(piece?: Piece) {
    this.#piece = piece ?? allocate(LOCK_BYTES);
    const v = view(this.#piece);
    this.#words = new Int32Array(v.buffer, v.byteOffset, 4);
    this.#address = v.address;
  }

  #took(): true {
    this.#words[OWNER] = process.pid;
    this.#words[THREAD] = threadId;
    return true;
  }

  // The owner died if its process is gone; the first waiter to swap its pid out wins the lock.
  #takeOverFromDead(): boolean {
    const owner = Atomics.load(this.#words, OWNER);
    if (owner <= 0 || owner === process.pid || alive(owner)) return false;
    if (Atomics.compareExchange(this.#words, OWNER, owner, process.pid) !== owner) return false;
    Atomics.store(this.#words, STATE, CONTENDED);
    this.ownerDied = true;
    return this.#took();
  }

  /** Takes the lock; with `blocking: false` or a `timeout` (seconds) it may give up and return false. */
  acquire(options?: AcquireOptions): boolean {
    // The uncontended path allocates nothing (no options object, no generator): one compare-and-swap.
    if (Atomics.compareExchange(this.#words, STATE, FREE, LOCKED) === FREE) {
      this.ownerDied = false;
      return this.#took();
    }
    const attempt = this.#attempt(options?.blocking ?? true, options?.timeout);
    let step = attempt.next();
    while (!step.done) step = attempt.next(!futexWait(this.#address, CONTENDED, step.value));
    return step.value;
  }

  /** The awaitable form of acquire: the event loop keeps running while it waits. */
  async acquireAsync({ blocking = true, timeout }: AcquireOptions = {}): Promise<boolean> {
    const attempt = this.#attempt(blocking, timeout);
    let step = attempt.next();
    while (!step.done) {
      const started = performance.now();
      await futexWaitAsync(this.#address, CONTENDED, step.value);
      // The async wait cannot tell a timeout from a wake-up; the time it took can.
      step = attempt.next(performance.now() - started >= step.value);
    }
    return step.value;
  }

  // The acquire loop, shared by both forms: it yields how long to sleep on the word, and is told
  // whether that sleep timed out (the moment to check whether the owner died).
  *#attempt(blocking: boolean, timeout?: number | null): Generator<number, boolean, boolean> {
    this.ownerDied = false;
    if (Atomics.compareExchange(this.#words, STATE, FREE, LOCKED) === FREE) return this.#took();
    if (!blocking) return false;
    const end = deadline(timeout);
    for (;;) {
      if (Atomics.exchange(this.#words, STATE, CONTENDED) === FREE) return this.#took();
      const left = end - performance.now();
      if (left <= 0) return false;
      const timedOut = yield Math.min(left, CHECK_OWNER_MS);
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

/** A wait that ran out of time, where the API has no false to return. */
export class TimeoutError extends Error {
  name = 'TimeoutError';
}

registerType('Lock', (piece: Piece) => new Lock(piece));
