// Event: one flag word; waiters sleep on it while it is clear, and set() wakes them all.
import { allocate, view, type Piece } from '../heap.ts';
import { futexWake } from '../platform/linux.ts';
import { REDUCE, registerType, type Reduced } from '../reduction.ts';
import { checkTimeout, deadline, runAsync, runBlocking, slice, type Waiting } from '../waiting.ts';

const FLAG = 0;
const ALL = 0x7fffffff;

export class Event {
  readonly #piece: Piece;
  readonly #words: Int32Array;
  readonly #address: bigint;

  constructor(piece?: Piece) {
    this.#piece = piece ?? allocate(4);
    const v = view(this.#piece);
    this.#words = new Int32Array(v.buffer, v.byteOffset, 1);
    this.#address = v.address;
  }

  isSet(): boolean {
    return Atomics.load(this.#words, FLAG) !== 0;
  }

  set(): void {
    if (Atomics.exchange(this.#words, FLAG, 1) === 0) futexWake(this.#address, ALL);
  }

  clear(): void {
    Atomics.store(this.#words, FLAG, 0);
  }

  *#wait(timeout?: number | null): Waiting<boolean> {
    checkTimeout(timeout);
    const end = deadline(timeout);
    while (!this.isSet() && performance.now() < end) {
      yield { address: this.#address, expected: 0, ms: slice(end) };
    }
    return this.isSet();
  }

  /** Sleeps until the flag is set or `timeout` seconds pass; returns the flag. */
  wait(timeout?: number | null): boolean {
    return this.isSet() || runBlocking(this.#wait(timeout));
  }

  waitAsync(timeout?: number | null): Promise<boolean> {
    return runAsync(this.#wait(timeout));
  }

  [REDUCE](): Reduced {
    return { $mpkit: 'Event', state: this.#piece };
  }
}

registerType('Event', (piece: Piece) => new Event(piece));
