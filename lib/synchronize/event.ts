// Event: a flag word and a generation word; waiters sleep on the generation, and set() moves it
// on and wakes them all. A waiter that slept through a set() returns true even if clear() came
// right after, before it ran, as CPython's waiters do: it was woken by the set, not by chance.
import { allocate, view, type Piece } from '../heap.ts';
import { futexWake } from '../platform/linux.ts';
import { REDUCE, registerType, type Reduced } from '../reduction.ts';
import { checkTimeout, deadline, runAsync, runBlocking, slice, type Waiting } from '../waiting.ts';

const FLAG = 0, GENERATION = 1;
const ALL = 0x7fffffff;

export class Event {
  readonly #piece: Piece;
  readonly #words: Int32Array;
  readonly #address: bigint;

  constructor(piece?: Piece) {
    this.#piece = piece ?? allocate(8);
    const v = view(this.#piece);
    this.#words = new Int32Array(v.buffer, v.byteOffset, 2);
    this.#address = v.address + 4n; // the generation word
  }

  isSet(): boolean {
    return Atomics.load(this.#words, FLAG) !== 0;
  }

  set(): void {
    if (Atomics.exchange(this.#words, FLAG, 1) !== 0) return;
    Atomics.add(this.#words, GENERATION, 1);
    futexWake(this.#address, ALL);
  }

  clear(): void {
    Atomics.store(this.#words, FLAG, 0);
  }

  *#wait(timeout?: number | null): Waiting<boolean> {
    checkTimeout(timeout);
    const end = deadline(timeout), seen = Atomics.load(this.#words, GENERATION);
    for (;;) {
      if (this.isSet()) return true;
      if (Atomics.load(this.#words, GENERATION) !== seen) return true; // set, then cleared before we ran
      if (performance.now() >= end) return false;
      yield { address: this.#address, expected: seen, ms: slice(end) };
    }
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
