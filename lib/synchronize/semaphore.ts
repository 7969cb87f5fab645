// Semaphore and BoundedSemaphore: a counter in shared memory that acquire takes from and release
// gives back to. A waiter sleeps on the counter's futex word while it is zero.
import { allocate, view, type Piece } from '../heap.ts';
import { futexWake } from '../platform/linux.ts';
import { REDUCE, registerType, type Reduced } from '../reduction.ts';
import { checkTimeout, holding, deadline, runAsync, runBlocking, slice, spin, type Waiting } from '../waiting.ts';
import type { AcquireOptions } from './lock.ts';

const VALUE = 0, WAITERS = 1, BOUND = 2; // BOUND is 0 for an unbounded semaphore
const MAX = 0x7fffffff;

function counter(value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > MAX) {
    throw new RangeError(`A semaphore's value is a whole number from 0 to ${MAX}, not ${String(value)}`);
  }
  return value as number;
}

export class Semaphore implements Disposable {
  readonly #piece: Piece;
  readonly #words: Int32Array;
  readonly #address: bigint;

  constructor(value: number | Piece = 1, bounded = false) {
    if (typeof value === 'object') {
      this.#piece = value;
    } else {
      this.#piece = allocate(16);
      counter(value);
    }
    const v = view(this.#piece);
    this.#words = new Int32Array(v.buffer, v.byteOffset, 4);
    this.#address = v.address;
    if (typeof value === 'number') {
      this.#words[VALUE] = value;
      this.#words[BOUND] = bounded ? value : 0;
    }
  }

  #take(): boolean {
    for (let v = Atomics.load(this.#words, VALUE); v > 0; v = Atomics.load(this.#words, VALUE)) {
      if (Atomics.compareExchange(this.#words, VALUE, v, v - 1) === v) return true;
    }
    return false;
  }

  *#attempt(blocking: boolean, timeout?: number | null): Waiting<boolean> {
    checkTimeout(timeout);
    if (this.#take()) return true;
    if (!blocking) return false;
    const end = deadline(timeout);
    for (;;) {
      if (performance.now() >= end) return false;
      if (spin(this.#words, VALUE, 0, end)) { if (this.#take()) return true; continue; }
      Atomics.add(this.#words, WAITERS, 1);
      try {
        yield { address: this.#address, expected: 0, ms: slice(end) };
      } finally {
        Atomics.sub(this.#words, WAITERS, 1);
      }
      if (this.#take()) return true;
    }
  }

  /** Takes one from the counter, waiting while it is zero; false if `blocking: false` or the timeout ran out. */
  acquire(options?: AcquireOptions): boolean {
    if (options) checkTimeout(options.timeout); // bad input fails even when the semaphore is free
    if (this.#take()) return true;
    return runBlocking(this.#attempt(options?.blocking ?? true, options?.timeout));
  }

  acquireAsync(options?: AcquireOptions): Promise<boolean> {
    return runAsync(this.#attempt(options?.blocking ?? true, options?.timeout));
  }

  /** Gives `n` back and wakes as many waiters. */
  release(n = 1): void {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`release(n) takes a whole number of at least 1, not ${n}`);
    const bound = this.#words[BOUND];
    for (;;) {
      const v = Atomics.load(this.#words, VALUE);
      if ((bound && v + n > bound) || v + n > MAX) throw new RangeError('Semaphore released too many times');
      if (Atomics.compareExchange(this.#words, VALUE, v, v + n) === v) break;
    }
    if (Atomics.load(this.#words, WAITERS) > 0) futexWake(this.#address, n);
  }

  /** The counter now (multiprocessing's get_value). */
  getValue(): number {
    return Atomics.load(this.#words, VALUE);
  }

  hold(options?: AcquireOptions): Disposable {
    return holding(this.acquire(options), () => this.release(), 'semaphore');
  }

  [Symbol.dispose]() {
    this.release();
  }

  [REDUCE](): Reduced {
    return { $mpkit: 'Semaphore', state: this.#piece };
  }
}

/** A semaphore that refuses to be released above its starting value (a release with no acquire is a bug). */
export class BoundedSemaphore extends Semaphore {
  constructor(value: number | Piece = 1) {
    super(value, true);
  }

  override [REDUCE](): Reduced {
    return { $mpkit: 'BoundedSemaphore', state: super[REDUCE]().state };
  }
}

registerType('Semaphore', (piece: Piece) => new Semaphore(piece));
registerType('BoundedSemaphore', (piece: Piece) => new BoundedSemaphore(piece));
