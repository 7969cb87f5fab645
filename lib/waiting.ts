// How every primitive waits. A wait is written once, as a generator that yields "sleep on this
// futex word while it holds this value, for at most this long" and is told whether the sleep timed
// out; two drivers run it: blocking (the thread sleeps in the kernel, as Python's waits do) and
// awaitable (the sleep happens on a helper thread and the event loop keeps running).
import { futexWait, futexWaitAsync, yieldCpu } from './platform/linux.ts';
import { builtin } from './platform/builtins.ts';

export interface Sleep {
  address: bigint;
  expected: number;
  ms: number; // always finite: long waits are cut into slices
}

export type Waiting<T> = Generator<Sleep, T, boolean>;

// An awaitable wait borrows a libuv pool thread while it sleeps; slices keep any one from holding
// it for long, so file and DNS work queued behind it is not starved.
const ASYNC_SLICE_MS = 50;
const FOREVER_SLICE_MS = 1000;

/**
 * A Python-style timeout in seconds as a deadline in ms: undefined or null, forever; negative, do
 * not wait (as CPython's multiprocessing waits, whose locks clamp a negative timeout to 0).
 */
export function deadline(timeout?: number | null): number {
  return timeout == null ? Infinity : performance.now() + Math.max(0, timeout) * 1000;
}

/** How long to sleep now before `end`: never more than a slice, never negative. */
export function slice(end: number, cap = FOREVER_SLICE_MS): number {
  return Math.max(0, Math.min(end - performance.now(), cap));
}

export function checkTimeout(timeout: unknown): void {
  if (timeout != null && (typeof timeout !== 'number' || Number.isNaN(timeout))) {
    throw new TypeError(`A timeout is a number of seconds (or null for none), not ${String(timeout)}`);
  }
}

export function runBlocking<T>(waiting: Waiting<T>): T {
  let step = waiting.next();
  while (!step.done) {
    const { address, expected, ms } = step.value;
    let woke: boolean;
    // A failed sleep is thrown into the wait, so its finally blocks (a lock taken back) still run.
    try { woke = futexWait(address, expected, ms); } catch (e) { step = waiting.throw(e); continue; }
    step = waiting.next(!woke);
  }
  return step.value;
}

export async function runAsync<T>(waiting: Waiting<T>): Promise<T> {
  let step = waiting.next();
  while (!step.done) {
    const { address, expected, ms } = step.value;
    const wait = Math.min(ms, ASYNC_SLICE_MS);
    const started = performance.now();
    try { await futexWaitAsync(address, expected, wait); } catch (e) { step = waiting.throw(e); continue; }
    // The async wait cannot tell a timeout from a wake-up; the time it took can.
    step = waiting.next(performance.now() - started >= wait);
  }
  return step.value;
}

// A sleep and its wake-up cost tens of microseconds in the kernel (36 µs for a round trip between
// two processes over two queues, measured on a 2-core VM), while the other side usually answers in
// a few. So a waiter first watches the word for a short while, as glibc's adaptive mutexes do; one
// that sees it change never sleeps, and its waker, seeing no sleepers, makes no system call either.
// With one core the other side cannot run while we watch, so there is no watching.
const SPIN_MS = 0.03;
// A long watch (Watch, below) offers its CPU every few microseconds. The two sides of a manager
// call often share one CPU (the scheduler puts a woken thread beside its waker), and then the one
// watching holds up the one it waits for until the scheduler's tick (~4 ms); sched_yield hands the
// CPU over at once, and costs a system call where no one else wants it. In turns, 20,000 manager
// appends from a child: Node 24 30-33 µs a call with no yield, 21-28 with this; Bun 39-43, 27-35.
const YIELD_EVERY_MS = 0.003;
let cores = 0;

/** Watches words[index] for up to `ms` (never past `end`); true if it no longer holds `seen`. */
export function spin(words: Int32Array, index: number, seen: number, end = Infinity, ms = SPIN_MS): boolean {
  if ((cores ||= builtin('node:os').availableParallelism()) < 2) return false;
  const start = performance.now(), stop = Math.min(end, start + ms);
  let polite = ms > SPIN_MS ? start : Infinity;
  for (let now = start; ; now = performance.now()) {
    for (let i = 0; i < 64; i++) if (Atomics.load(words, index) !== seen) return true;
    if (now >= stop) return false;
    if (now >= polite) { yieldCpu(); polite = now + YIELD_EVERY_MS; }
  }
}

/**
 * How long to watch for an answer that usually comes at once (a manager's reply, a client's next
 * request). Where a wake-up is slow (a VM: 100-300 µs), a watch much shorter than it lets one late
 * side put the other to sleep too, and every call after pays two wake-ups. So the watch
 * doubles, up to `max`, while answers come within it, and halves, down to SPIN_MS, when one does
 * not: a peer that answers late, or rarely, soon costs no more than any other wait.
 */
export class Watch {
  ms: number;
  readonly max: number;
  constructor(max: number) { this.ms = this.max = max; }
  /** True when answers have lately not come within even the shortest watch. */
  get failing(): boolean { return this.ms <= SPIN_MS; }
  /** Starts over at the longest watch. */
  reset() { this.ms = this.max; }
  /** Records whether the answer came within the watch, and returns that. */
  saw(answered: boolean): boolean {
    this.ms = answered ? Math.min(this.max, this.ms * 2) : Math.max(SPIN_MS, this.ms / 2);
    return answered;
  }
}

/** A wait that ran out of time, where the API has no false to return. */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** What hold() returns: Python's `with lock:` as `using _ = lock.hold()`, or a TimeoutError. */
export function holding(acquired: boolean, release: () => void, what: string): Disposable {
  if (!acquired) throw new TimeoutError(`Timed out waiting for the ${what}`);
  return { [Symbol.dispose]: release };
}
