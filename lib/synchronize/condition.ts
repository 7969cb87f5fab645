// Condition: waiters sleep on a sequence word that notify bumps. A waiter reads the word while it
// still holds the lock, and notify is called with the lock held, so no notification falls between
// a waiter's check and its sleep. notify(n) wakes n sleepers; a waiter that read the word and had
// not yet gone to sleep also returns, so, as with any condition variable, re-check with waitFor.
import { allocate, view, type Piece } from '../heap.ts';
import { futexWake } from '../platform/linux.ts';
import { REDUCE, registerType, revive, type Reduced } from '../reduction.ts';
import { checkTimeout, deadline, runAsync, runBlocking, slice, type Waiting } from '../waiting.ts';
import { ATTEMPT, Lock, OWNED, RESTORE, RLock, SAVE, type AcquireOptions } from './lock.ts';

/** The waits as steps, for primitives built on a condition (Barrier). */
export const WAIT_FOR = Symbol('waitFor');

const SEQ = 0;
const ALL = 0x7fffffff;

interface State { piece: Piece; lock: Reduced }

export class Condition implements Disposable {
  readonly #piece: Piece;
  readonly #lock: Lock | RLock;
  readonly #words: Int32Array;
  readonly #address: bigint;

  /** A condition over `lock` (a new RLock if none is given, as in Python). */
  constructor(lock?: Lock | RLock | State) {
    if (lock && !(lock instanceof Lock) && !(lock instanceof RLock)) {
      if (!('piece' in lock)) throw new TypeError('A Condition takes a Lock or an RLock');
      this.#piece = lock.piece;
      this.#lock = revive(lock.lock) as Lock | RLock;
    } else {
      this.#piece = allocate(16);
      this.#lock = lock ?? new RLock();
    }
    const v = view(this.#piece);
    this.#words = new Int32Array(v.buffer, v.byteOffset, 4);
    this.#address = v.address;
  }

  acquire(options?: AcquireOptions): boolean { return this.#lock.acquire(options); }
  acquireAsync(options?: AcquireOptions): Promise<boolean> { return this.#lock.acquireAsync(options); }
  release(): void { this.#lock.release(); }
  [ATTEMPT](blocking: boolean, timeout?: number | null): Waiting<boolean> { return this.#lock[ATTEMPT](blocking, timeout); }

  #mustOwn(what: string) {
    if (!this.#lock[OWNED]()) throw new Error(`Cannot ${what} a condition whose lock this thread does not hold: acquire it first`);
  }

  // Releases the lock fully, sleeps until notified or out of time, and takes the lock back as it was.
  *#wait(end: number): Waiting<boolean> {
    this.#mustOwn('wait on');
    const seq = Atomics.load(this.#words, SEQ);
    const depth = this.#lock[SAVE]();
    let notified = false;
    try {
      while (!(notified = Atomics.load(this.#words, SEQ) !== seq) && performance.now() < end) {
        yield { address: this.#address, expected: seq, ms: slice(end) };
      }
    } finally {
      yield* this.#lock[RESTORE](depth);
    }
    return notified;
  }

  *[WAIT_FOR]<T>(predicate: () => T, timeout?: number | null): Waiting<T> {
    checkTimeout(timeout);
    const end = deadline(timeout);
    let result = predicate();
    while (!result && performance.now() < end) {
      yield* this.#wait(end);
      result = predicate();
    }
    return result;
  }

  /** Releases the lock and sleeps until notified or `timeout` seconds pass; false on timeout. */
  wait(timeout?: number | null): boolean {
    checkTimeout(timeout);
    return runBlocking(this.#wait(deadline(timeout)));
  }

  waitAsync(timeout?: number | null): Promise<boolean> {
    checkTimeout(timeout);
    return runAsync(this.#wait(deadline(timeout)));
  }

  /** Waits until `predicate()` is truthy (checked with the lock held) and returns its last value. */
  waitFor<T>(predicate: () => T, timeout?: number | null): T {
    return runBlocking(this[WAIT_FOR](predicate, timeout));
  }

  waitForAsync<T>(predicate: () => T, timeout?: number | null): Promise<T> {
    return runAsync(this[WAIT_FOR](predicate, timeout));
  }

  notify(n = 1): void {
    this.#mustOwn('notify');
    Atomics.add(this.#words, SEQ, 1);
    futexWake(this.#address, n);
  }

  notifyAll(): void {
    this.notify(ALL);
  }

  hold(options?: AcquireOptions): Disposable {
    return this.#lock.hold(options);
  }

  [Symbol.dispose]() {
    this.release();
  }

  [REDUCE](): Reduced {
    return { $mpkit: 'Condition', state: { piece: this.#piece, lock: this.#lock[REDUCE]() } };
  }
}

registerType('Condition', (state: State) => new Condition(state));
